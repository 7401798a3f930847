using Mesh.Client.Model;
using Mesh.Client.Routing.Internal;

namespace Mesh.Client.Tests.Routing;

public class PathMatcherTests
{
    [Theory]
    [InlineData("/api", "/api", true)]
    [InlineData("/api", "/api/orders", true)]
    [InlineData("/api", "/apiary", true)]
    [InlineData("/api/", "/api", false)]
    [InlineData("/api", "/API/orders", false)]
    [InlineData("/api", "/v1/api", false)]
    [InlineData("", "/anything", true)]
    public void IsMatch_Prefix_CaseSensitiveStartsWith(string prefix, string path, bool expected)
    {
        var matcher = new PathMatcher(new PathMatch(PathMatchKind.Prefix, prefix));

        Assert.Equal(expected, matcher.IsMatch(path));
    }

    [Theory]
    [InlineData("/API/Orders", true)]
    [InlineData("/api/orders", true)]
    [InlineData("/apx", false)]
    public void IsMatch_PrefixCaseInsensitive_IgnoresCase(string path, bool expected)
    {
        var matcher = new PathMatcher(new PathMatch(PathMatchKind.Prefix, "/Api", CaseSensitive: false));

        Assert.Equal(expected, matcher.IsMatch(path));
    }

    [Theory]
    [InlineData("/pkg.Service/Method", true)]
    [InlineData("/pkg.Service/Method/", false)]
    [InlineData("/pkg.Service/MethodX", false)]
    [InlineData("/pkg.Service/method", false)]
    [InlineData("/pkg.Service", false)]
    public void IsMatch_Exact_WholePathCaseSensitive(string path, bool expected)
    {
        var matcher = new PathMatcher(new PathMatch(PathMatchKind.Exact, "/pkg.Service/Method"));

        Assert.Equal(expected, matcher.IsMatch(path));
    }

    [Fact]
    public void IsMatch_ExactCaseInsensitive_IgnoresCase()
    {
        var matcher = new PathMatcher(new PathMatch(PathMatchKind.Exact, "/pkg.Service/Method", CaseSensitive: false));

        Assert.True(matcher.IsMatch("/PKG.service/method"));
        Assert.False(matcher.IsMatch("/PKG.service/method2"));
    }

    [Theory]
    [InlineData("/api/v1", true)]
    [InlineData("/api/v42", true)]
    [InlineData("/api/v1/orders", false)]
    [InlineData("/x/api/v1", false)]
    [InlineData("/api/v", false)]
    public void IsMatch_Regex_MustMatchWholePath(string path, bool expected)
    {
        // RE2 full-match semantics: no implicit substring search.
        var matcher = new PathMatcher(new PathMatch(PathMatchKind.Regex, "/api/v[0-9]+"));

        Assert.Equal(expected, matcher.IsMatch(path));
    }

    [Theory]
    [InlineData("/a", true)]
    [InlineData("/b", true)]
    [InlineData("/a/x", false)]
    [InlineData("/x/b", false)]
    public void IsMatch_RegexWithAlternation_AnchorsEveryAlternative(string path, bool expected)
    {
        // "/a|/b" must mean "whole path is /a or /b", not "starts with /a or ends with /b".
        var matcher = new PathMatcher(new PathMatch(PathMatchKind.Regex, "/a|/b"));

        Assert.Equal(expected, matcher.IsMatch(path));
    }

    [Fact]
    public void IsMatch_RegexCaseInsensitive_IgnoresCase()
    {
        var sensitive = new PathMatcher(new PathMatch(PathMatchKind.Regex, "/orders/[a-z]+"));
        var insensitive = new PathMatcher(new PathMatch(PathMatchKind.Regex, "/orders/[a-z]+", CaseSensitive: false));

        Assert.False(sensitive.IsMatch("/Orders/ABC"));
        Assert.True(insensitive.IsMatch("/Orders/ABC"));
    }

    [Theory]
    [InlineData(PathMatchKind.Prefix, "", true)]
    [InlineData(PathMatchKind.Prefix, "/", true)]
    [InlineData(PathMatchKind.Prefix, "/api", false)]
    [InlineData(PathMatchKind.Exact, "/", false)]
    [InlineData(PathMatchKind.Regex, ".*", false)]
    public void MatchesEverything_OnlyForEmptyOrRootPrefix(object kindValue, string value, bool expected)
    {
        var kind = (PathMatchKind)kindValue;
        Assert.Equal(expected, new PathMatcher(new PathMatch(kind, value)).MatchesEverything);
    }
}
