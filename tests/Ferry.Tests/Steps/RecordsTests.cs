using Ferry.Json;
using Ferry.Steps;

namespace Ferry.Tests.Steps;

public class RecordsTests
{
    private static readonly string Cases = """[{"id":1,"d":"Gulu"},{"id":2,"d":"Lira"},{"id":3,"d":"Gulu"},{"id":4}]""";

    [Fact]
    public void Chunk_splits_an_array_into_arrays_of_n()
    {
        var chunks = Records.Chunk(Js.Parse("[1,2,3,4,5]"), 2);
        Assert.Equal("[[1,2],[3,4],[5]]", chunks.ToString());
        Assert.Equal("[]", Records.Chunk(null, 3).ToString());
        Assert.Throws<ArgumentOutOfRangeException>(() => Records.Chunk(Js.Parse("[1]"), 0));
    }

    [Fact]
    public void Chunk_works_on_raw_state_arrays()
    {
        var state = Js.ParseStateObject("""{"data":[1,2,3]}"""u8.ToArray());
        Assert.Equal("[[1,2,3]]", Records.Chunk(state.GetUnmaterialized("data"), 5).ToString());
    }

    [Fact]
    public void Each_and_Map_pass_the_index()
    {
        var items = (JsArray)Js.Parse(Cases)!;
        var seen = new List<string>();
        Records.Each(items, (r, i) => seen.Add($"{i}:{r!.id}"));
        Assert.Equal(["0:1", "1:2", "2:3", "3:4"], seen);
        var mapped = Records.Map(items, (r, i) => new { n = i, id = r!.id });
        Assert.Equal("""{"n":1,"id":2}""", mapped[1]!.ToString());
        Assert.Equal(2, Records.Filter(items, r => r!.d == "Gulu").Count);
    }

    [Fact]
    public async Task EachAsync_awaits_each_item_in_order()
    {
        var order = new List<int>();
        await Records.EachAsync((JsArray)Js.Parse("[1,2,3]")!, async (x, i) =>
        {
            await Task.Yield();
            order.Add((int)x! * 10 + i);
        });
        Assert.Equal([10, 21, 32], order);
    }

    [Fact]
    public void GroupBy_IndexBy_and_Pluck_use_a_field_path()
    {
        var items = Js.Parse(Cases);
        Assert.Equal("""{"Gulu":[{"id":1,"d":"Gulu"},{"id":3,"d":"Gulu"}],"Lira":[{"id":2,"d":"Lira"}],"null":[{"id":4}]}""", Records.GroupBy(items, "d").ToString());
        Assert.Equal("""{"id":3,"d":"Gulu"}""", Records.IndexBy(items, "id")["3"]!.ToString());
        Assert.Equal("""["Gulu","Lira","Gulu",null]""", Records.Pluck(items, "d").ToString());
        var e = Assert.Throws<ArgumentException>(() => Records.GroupBy(Js.Parse("""{"a":1}"""), "a"));
        Assert.Contains("needs an array", e.Message);
    }
}
