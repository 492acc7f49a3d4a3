using System.Text;
using Ferry.Json;
using Ferry.Mapping;

namespace Ferry.Tests.Mapping;

internal static class MappingTestSupport
{
    /// <summary>Runs a YAML spec over state JSON read as a file would be (records kept raw).</summary>
    public static (JsObject State, MappingReport Report) RunRaw(string yaml, string stateJson)
    {
        var spec = MappingSpecLoader.ParseYaml(yaml, "mappings/test.yaml");
        var state = Js.ParseStateObject(Encoding.UTF8.GetBytes(stateJson), "state.json");
        var report = Mapper.Apply(spec, state);
        return (state, report);
    }

    /// <summary>Runs a YAML spec over state whose records are materialized (a JsArray).</summary>
    public static (JsObject State, MappingReport Report) RunMaterialized(string yaml, string stateJson)
    {
        var spec = MappingSpecLoader.ParseYaml(yaml, "mappings/test.yaml");
        var state = (JsObject)Js.Parse(stateJson)!;
        var report = Mapper.Apply(spec, state);
        return (state, report);
    }

    public static string AsJson(object? value) => Js.ToJson(value is RawJson r ? r.Materialize() : value);
}
