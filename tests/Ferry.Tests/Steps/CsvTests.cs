using Ferry.Json;
using Ferry.Steps;

namespace Ferry.Tests.Steps;

public class CsvTests
{
    [Fact]
    public void Parse_gives_objects_keyed_by_the_header()
    {
        var rows = Csv.Parse("id,name,phone\n1,\"Lopez, Ana\",0772\n2,Bo,\n");
        Assert.Equal("""[{"id":"1","name":"Lopez, Ana","phone":"0772"},{"id":"2","name":"Bo","phone":""}]""", rows.ToString());
    }

    [Fact]
    public void Parse_detects_the_delimiter_and_can_infer_types()
    {
        var rows = Csv.Parse("id;score;ok;phone;note\n7;1.5;true;0772;\n", inferTypes: true);
        Assert.Equal("""[{"id":7,"score":1.5,"ok":true,"phone":"0772","note":null}]""", rows.ToString());
    }

    [Fact]
    public void Parse_without_header_gives_arrays()
    {
        Assert.Equal("""[["a","b"],["c","d"]]""", Csv.Parse("a,b\nc,d\n", header: false).ToString());
    }

    [Fact]
    public void Parse_refuses_duplicate_columns_and_long_rows_with_the_line()
    {
        Assert.Contains("column 'a' appears twice", Assert.Throws<FormatException>(() => Csv.Parse("a,a\n1,2\n")).Message);
        Assert.Contains("line 3 has 3 fields", Assert.Throws<FormatException>(() => Csv.Parse("a,b\n1,2\n1,2,3\n", delimiter: ",")).Message);
    }

    [Fact]
    public void Write_uses_every_key_as_a_column_and_quotes_when_needed()
    {
        var records = Js.Parse("""[{"id":1,"name":"Lopez, Ana"},{"id":2,"tags":["x"],"ok":true}]""");
        Assert.Equal("id,name,tags,ok\n1,\"Lopez, Ana\",,\n2,,\"[\"\"x\"\"]\",true\n", Csv.Write(records));
    }

    [Fact]
    public void Write_then_parse_round_trips_text()
    {
        var records = Js.Parse("""[{"a":"x\ny","b":"+256 700"}]""");
        Assert.Equal(Js.ToJson(records), Csv.Parse(Csv.Write(records, delimiter: ";"), delimiter: ";", trim: false).ToString());
    }
}
