using System.Net.Http.Headers;
using Mesh.Client.Model;
using Mesh.Client.Routing.Internal;

namespace Mesh.Client.Tests.Routing;

public class HeaderMatcherTests
{
    [Theory]
    [InlineData(HeaderMatchKind.Exact, "canary", "canary", true)]
    [InlineData(HeaderMatchKind.Exact, "canary", "canary2", false)]
    [InlineData(HeaderMatchKind.Exact, "canary", "Canary", false)]
    [InlineData(HeaderMatchKind.Prefix, "can", "canary", true)]
    [InlineData(HeaderMatchKind.Prefix, "nary", "canary", false)]
    [InlineData(HeaderMatchKind.Suffix, "nary", "canary", true)]
    [InlineData(HeaderMatchKind.Suffix, "can", "canary", false)]
    [InlineData(HeaderMatchKind.Contains, "ana", "canary", true)]
    [InlineData(HeaderMatchKind.Contains, "xyz", "canary", false)]
    [InlineData(HeaderMatchKind.Regex, "c[a-z]+y", "canary", true)]
    [InlineData(HeaderMatchKind.Regex, "an", "canary", false)]
    [InlineData(HeaderMatchKind.Regex, "c[a-z]+y", "canary-2", false)]
    public void IsMatch_ValueKinds_CompareAsSpecified(object kindValue, string expected, string actual, bool matches)
    {
        var kind = (HeaderMatchKind)kindValue;
        var matcher = new HeaderMatcher(new HeaderMatch { Name = "x-track", Kind = kind, Value = expected });

        Assert.Equal(matches, matcher.IsMatch(Request(("x-track", actual))));
    }

    [Theory]
    [InlineData(HeaderMatchKind.Exact, "CANARY", true)]
    [InlineData(HeaderMatchKind.Prefix, "CAN", true)]
    [InlineData(HeaderMatchKind.Suffix, "NARY", true)]
    [InlineData(HeaderMatchKind.Contains, "ANA", true)]
    [InlineData(HeaderMatchKind.Regex, "CANARY", false)]
    public void IsMatch_IgnoreCase_AppliesToStringKindsNotRegex(object kindValue, string expected, bool matches)
    {
        var kind = (HeaderMatchKind)kindValue;
        var matcher = new HeaderMatcher(new HeaderMatch { Name = "x-track", Kind = kind, Value = expected, IgnoreCase = true });

        Assert.Equal(matches, matcher.IsMatch(Request(("x-track", "canary"))));
    }

    [Fact]
    public void IsMatch_HeaderNameDiffersInCase_StillMatches()
    {
        var matcher = new HeaderMatcher(new HeaderMatch { Name = "X-Track", Kind = HeaderMatchKind.Exact, Value = "a" });

        Assert.True(matcher.IsMatch(Request(("x-track", "a"))));
    }

    [Fact]
    public void IsMatch_PresentTrue_RequiresHeader()
    {
        var matcher = new HeaderMatcher(new HeaderMatch { Name = "x-debug", Kind = HeaderMatchKind.Present });

        Assert.True(matcher.IsMatch(Request(("x-debug", ""))));
        Assert.False(matcher.IsMatch(Request()));
    }

    [Fact]
    public void IsMatch_PresentFalse_RequiresAbsence()
    {
        var matcher = new HeaderMatcher(new HeaderMatch { Name = "x-debug", Kind = HeaderMatchKind.Present, PresentMatch = false });

        Assert.False(matcher.IsMatch(Request(("x-debug", "1"))));
        Assert.True(matcher.IsMatch(Request()));
    }

    [Fact]
    public void IsMatch_PresentInverted_MatchesAbsence()
    {
        var matcher = new HeaderMatcher(new HeaderMatch { Name = "x-debug", Kind = HeaderMatchKind.Present, Invert = true });

        Assert.False(matcher.IsMatch(Request(("x-debug", "1"))));
        Assert.True(matcher.IsMatch(Request()));
    }

    [Theory]
    [InlineData("10", true)]
    [InlineData("19", true)]
    [InlineData("20", false)]
    [InlineData("9", false)]
    [InlineData("-5", false)]
    [InlineData("15.5", false)]
    [InlineData("abc", false)]
    [InlineData("", false)]
    [InlineData(" 15", false)]
    public void IsMatch_Range_StartInclusiveEndExclusiveIntegersOnly(string value, bool expected)
    {
        var matcher = new HeaderMatcher(new HeaderMatch { Name = "x-shard", Kind = HeaderMatchKind.Range, RangeStart = 10, RangeEnd = 20 });

        Assert.Equal(expected, matcher.IsMatch(Request(("x-shard", value))));
    }

    [Theory]
    [InlineData("-10", true)]
    [InlineData("-1", true)]
    [InlineData("0", false)]
    [InlineData("-11", false)]
    public void IsMatch_NegativeRange_ParsesSign(string value, bool expected)
    {
        var matcher = new HeaderMatcher(new HeaderMatch { Name = "x-shard", Kind = HeaderMatchKind.Range, RangeStart = -10, RangeEnd = 0 });

        Assert.Equal(expected, matcher.IsMatch(Request(("x-shard", value))));
    }

    [Theory]
    [InlineData("canary", false)]
    [InlineData("stable", true)]
    public void IsMatch_Inverted_NegatesPresentHeader(string value, bool expected)
    {
        var matcher = new HeaderMatcher(new HeaderMatch { Name = "x-track", Kind = HeaderMatchKind.Exact, Value = "canary", Invert = true });

        Assert.Equal(expected, matcher.IsMatch(Request(("x-track", value))));
    }

    [Theory]
    [InlineData(HeaderMatchKind.Exact, false)]
    [InlineData(HeaderMatchKind.Exact, true)]
    [InlineData(HeaderMatchKind.Prefix, true)]
    [InlineData(HeaderMatchKind.Suffix, true)]
    [InlineData(HeaderMatchKind.Contains, true)]
    [InlineData(HeaderMatchKind.Regex, true)]
    [InlineData(HeaderMatchKind.Range, true)]
    public void IsMatch_AbsentHeader_ValueConditionFailsEvenInverted(object kindValue, bool invert)
    {
        var kind = (HeaderMatchKind)kindValue;
        var matcher = new HeaderMatcher(new HeaderMatch { Name = "x-track", Kind = kind, Value = "canary", RangeStart = 0, RangeEnd = 10, Invert = invert });

        Assert.False(matcher.IsMatch(Request(("x-other", "canary"))));
    }

    [Fact]
    public void IsMatch_SeveralValues_ComparedJoinedByComma()
    {
        var exact = new HeaderMatcher(new HeaderMatch { Name = "x-tags", Kind = HeaderMatchKind.Exact, Value = "a,b" });
        var first = new HeaderMatcher(new HeaderMatch { Name = "x-tags", Kind = HeaderMatchKind.Exact, Value = "a" });
        var request = new HttpRequestMessage(HttpMethod.Get, "http://svc/");
        request.Headers.Add("x-tags", ["a", "b"]);

        Assert.True(exact.IsMatch(request));
        Assert.False(first.IsMatch(request));
    }

    [Fact]
    public void IsMatch_SameHeaderAddedTwice_ComparedJoinedByComma()
    {
        var matcher = new HeaderMatcher(new HeaderMatch { Name = "x-tags", Kind = HeaderMatchKind.Suffix, Value = ",second" });

        Assert.True(matcher.IsMatch(Request(("x-tags", "first"), ("x-tags", "second"))));
    }

    [Theory]
    [InlineData(HeaderMatchKind.Exact)]
    [InlineData(HeaderMatchKind.Present)]
    [InlineData(HeaderMatchKind.Contains)]
    public void IsMatch_BinaryHeader_NeverMatches(object kindValue)
    {
        var kind = (HeaderMatchKind)kindValue;
        // gRPC binary metadata (-bin suffix) is not matched on (gRFC A28).
        var matcher = new HeaderMatcher(new HeaderMatch { Name = "trace-bin", Kind = kind, Value = "AAEC" });

        Assert.False(matcher.IsMatch(Request(("trace-bin", "AAEC"))));
    }

    [Fact]
    public void IsMatch_ContentType_MatchedFromContentHeaders()
    {
        var matcher = new HeaderMatcher(new HeaderMatch { Name = "content-type", Kind = HeaderMatchKind.Prefix, Value = "application/grpc" });
        var request = new HttpRequestMessage(HttpMethod.Post, "http://svc/pkg.Service/Method")
        {
            Content = new ByteArrayContent([]),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");

        Assert.True(matcher.IsMatch(request));
        Assert.False(matcher.IsMatch(Request()));
    }

    [Fact]
    public void IsMatch_ValueNotValidForTypedHeader_ComparedAsSent()
    {
        // Matching reads headers without validation: a value the typed parser would reject is still compared.
        var matcher = new HeaderMatcher(new HeaderMatch { Name = "accept", Kind = HeaderMatchKind.Exact, Value = "not a media type;;" });
        var request = new HttpRequestMessage(HttpMethod.Get, "http://svc/");
        request.Headers.TryAddWithoutValidation("accept", "not a media type;;");

        Assert.True(matcher.IsMatch(request));
    }

    internal static HttpRequestMessage Request(params (string Name, string Value)[] headers)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "http://svc/path");
        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        return request;
    }
}
