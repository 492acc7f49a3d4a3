using Ferry.Json;
using Ferry.Steps;

namespace Ferry.Tests.Steps;

public class ValueMapTests
{
    [Fact]
    public void Known_codes_map_and_unknown_codes_take_the_fallback()
    {
        var sex = ValueMap.Of(new { M = "male", F = "female" }, fallback: "unknown");
        Assert.Equal("male", (string)sex.Get("M")!);
        Assert.Equal("unknown", (string)sex.Get("X")!);
        Assert.Null(sex.Get(null));
        Assert.True(sex.Has("F"));
        Assert.Equal(["M", "F"], sex.Codes);
    }

    [Fact]
    public void Strict_map_names_the_unmapped_value_and_the_known_codes()
    {
        var sex = ValueMap.Of(new { M = "male", F = "female" }, strict: true);
        var e = Assert.Throws<KeyNotFoundException>(() => sex.Get("X"));
        Assert.Contains("'X' is not in the value map (known codes: M, F)", e.Message);
        Assert.Throws<KeyNotFoundException>(() => ValueMap.Of(new { A = 1 }).Strict().Get("B"));
    }

    [Fact]
    public void Codes_compare_as_text_and_can_ignore_case()
    {
        var map = ValueMap.Of(Js.Parse("""{"1":"yes","2":"no"}""")!);
        Assert.Equal("yes", (string)map.Get(1)!);
        Assert.Equal("no", (string)map.Get("2")!);
        Assert.Equal("male", (string)ValueMap.Of(new { M = "male" }, ignoreCase: true).Get("m")!);
    }

    [Fact]
    public void Step_code_can_use_it_on_dynamic_values()
    {
        dynamic c = Js.Parse("""{"sex":"F"}""")!;
        var sex = ValueMap.Of(new { M = "male", F = "female" });
        dynamic patient = new JsObject();
        patient.gender = sex.Get(c.sex);
        Assert.Equal("""{"gender":"female"}""", Js.ToJson(patient));
    }
}
