using Ferry.Diagnostics;
using Ferry.Json;
using Ferry.Mapping;

namespace Ferry.Tests.Mapping;

public class MappingSpecLoaderTests
{
    private static FerryInputException LoadFails(string yaml) =>
        Assert.Throws<FerryInputException>(() => MappingSpecLoader.ParseYaml(yaml, "mappings/cases.yaml"));

    [Fact]
    public void Yaml_spec_loads_settings_value_maps_and_fields()
    {
        var spec = MappingSpecLoader.ParseYaml("""
            description: HMIS cases to Go.Data
            source: data.rows
            target: cases
            on_error: skip
            rejected: bad
            value_maps:
              sex: { M: male, F: female }
            fields:
              - target: patient.gender
                source: sex
                value_map: sex
                default: unknown
                notes: from the register
              - target: patient.birthDate
                source: dob
                format: { from: [MM/dd/yyyy, yyyy-MM-dd], to: yyyy-MM-dd }
                required: true
            """, "mappings/cases.yaml");
        Assert.Equal(("data.rows", "cases", MappingErrorMode.Skip, "bad"), (spec.Source, spec.Target, spec.OnError, spec.Rejected));
        Assert.Equal("sex", spec.Fields[0].ValueMapName);
        Assert.Equal("female", spec.Fields[0].ValueMap!.Entries[1].Value);
        Assert.Equal(["MM/dd/yyyy", "yyyy-MM-dd"], spec.Fields[1].DateFrom);
        Assert.True(spec.Fields[1].Required);
        Assert.Equal(new SourceLocation("mappings/cases.yaml", 14, 5), spec.Fields[1].Location);
    }

    [Fact]
    public void Target_defaults_to_the_source_path()
    {
        var spec = MappingSpecLoader.ParseYaml("source: data.rows\nfields:\n  - { target: a, source: b }\n", "m.yaml");
        Assert.Equal("data.rows", spec.Target);
        Assert.Equal(MappingErrorMode.Stop, spec.OnError);
    }

    [Fact]
    public void Unknown_keys_are_reported_with_did_you_mean_and_line_and_column()
    {
        var e = LoadFails("""
            sorce: data
            fields:
              - target: a
                source: b
                requird: true
            """);
        Assert.Equal(2, e.Diagnostics.Count);
        Assert.Equal(new SourceLocation("mappings/cases.yaml", 1, 1), e.Diagnostics[0].Location);
        Assert.Contains("Did you mean 'source'?", e.Diagnostics[0].Hint);
        Assert.Equal(new SourceLocation("mappings/cases.yaml", 5, 5), e.Diagnostics[1].Location);
        Assert.Contains("Did you mean 'required'?", e.Diagnostics[1].Hint);
        Assert.Contains("mappings/cases.yaml:5:5: error FERRY401: Unknown key 'requird' in a field.", e.Message);
    }

    [Fact]
    public void Every_problem_is_reported_at_once()
    {
        var e = LoadFails("""
            on_error: skipp
            fields:
              - target: a
                source: b
                value_map: sexx
              - target: a
                value: 1
              - target: d
                source: dob
                format: { from: MM/dd/yyyy, to: yyyy-MM-dd }
                type: integr
              - target: t
                compute: "{upperr(x)}"
              - source: x
              - target: n
                source: n
                type: integer
                default: many
            value_maps:
              sex: { M: male }
            """);
        var messages = e.Diagnostics.Select(d => d.ToString()).ToList();
        Assert.Contains(messages, m => m.Contains(":1:11:", StringComparison.Ordinal) && m.Contains("Did you mean 'skip'?", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.Contains(":5:16:", StringComparison.Ordinal) && m.Contains("value map 'sexx'", StringComparison.Ordinal) && m.Contains("Did you mean 'sex'?", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.Contains("Target 'a' is written twice", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.Contains(":11:11:", StringComparison.Ordinal) && m.Contains("Did you mean 'integer'?", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.Contains(":13:14:", StringComparison.Ordinal) && m.Contains("unknown function 'upperr'", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.Contains("A field has no 'target'", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.Contains(":18:14:", StringComparison.Ordinal) && m.Contains("'many' is not a whole number", StringComparison.Ordinal));
        Assert.Equal(7, e.Diagnostics.Count);
    }

    [Fact]
    public void Yaml_syntax_errors_carry_line_and_column()
    {
        var e = LoadFails("fields:\n  - target: a\n   source: [b\n");
        var d = Assert.Single(e.Diagnostics);
        Assert.Equal("FERRY408", d.Code);
        Assert.True(d.Location!.Line >= 2, d.ToString());
    }

    [Fact]
    public void Overlapping_targets_and_bad_paths_are_refused()
    {
        var e = LoadFails("""
            fields:
              - { target: patient, source: p }
              - { target: patient.id, source: id }
              - { target: "x..y", source: id }
              - { target: "list[0]", source: a }
              - { target: list.a, source: b }
            """);
        Assert.Contains(e.Diagnostics, d => d.Message.Contains("overlap", StringComparison.Ordinal));
        Assert.Contains(e.Diagnostics, d => d.Message.Contains("'x..y' is not a field path", StringComparison.Ordinal));
        Assert.Contains(e.Diagnostics, d => d.Message.Contains("both an array and an object", StringComparison.Ordinal));
    }

    [Fact]
    public void Csv_spec_with_directives_loads_into_the_same_model()
    {
        const string csv = """
            # source: data
            # on_error: skip
            # value_maps.sex: M=male; F=female
            target,source,required,transform,format_from,format_to,value_map,default,type,notes
            patient.id,case_id,yes,,,,,,,the case number
            patient.birthDate,dob,,,MM/dd/yyyy,yyyy-MM-dd,,,,
            patient.gender,sex,,,,,sex,unknown,,
            status,status,,trim; lower,,,"active=1; closed=0",,integer,
            """;
        var spec = MappingSpecLoader.ParseCsv(csv, "mappings/cases.csv");
        Assert.Equal(MappingErrorMode.Skip, spec.OnError);
        Assert.Equal(4, spec.Fields.Count);
        Assert.True(spec.Fields[0].Required);
        Assert.Equal("the case number", spec.Fields[0].Notes);
        Assert.Equal("yyyy-MM-dd", spec.Fields[1].DateTo);
        Assert.Equal("sex", spec.Fields[2].ValueMapName);
        Assert.Equal(["trim", "lower"], spec.Fields[3].Transforms);
        Assert.Equal(new SourceLocation("mappings/cases.csv", 8, 1), spec.Fields[3].Location);

        var state = Js.ParseStateObject("""{"data":[{"case_id":"C1","dob":"01/31/1990","sex":"M","status":" Active "}]}"""u8.ToArray());
        var report = Mapper.Apply(spec, state);
        Assert.Equal(1, report.Mapped);
        Assert.Equal("""[{"patient":{"id":"C1","birthDate":"1990-01-31","gender":"male"},"status":1}]""", MappingTestSupport.AsJson(state["data"]));
    }

    [Fact]
    public void Csv_errors_name_the_line_and_column()
    {
        const string csv = """
            target,sorce,type
            a,b,integr
            """;
        var e = Assert.Throws<FerryInputException>(() => MappingSpecLoader.ParseCsv(csv, "m.csv"));
        Assert.Contains(e.Diagnostics, d => d.Location == new SourceLocation("m.csv", 1, 2) && d.Hint!.Contains("Did you mean 'source'?", StringComparison.Ordinal));
        Assert.Contains(e.Diagnostics, d => d.Location == new SourceLocation("m.csv", 2, 3) && d.Hint!.Contains("Did you mean 'integer'?", StringComparison.Ordinal));
    }

    [Fact]
    public void Load_reads_yaml_and_csv_files_by_extension_and_reports_a_missing_file()
    {
        var dir = Directory.CreateTempSubdirectory("ferry-mapping-");
        try
        {
            File.WriteAllText(Path.Combine(dir.FullName, "a.yml"), "fields:\n  - { target: a, source: b }\n");
            File.WriteAllText(Path.Combine(dir.FullName, "b.csv"), "target,source\na,b\n");
            Assert.Equal("b", MappingSpecLoader.Load(Path.Combine(dir.FullName, "a.yml")).Fields[0].Source);
            Assert.Equal("mappings/b.csv", MappingSpecLoader.Load(Path.Combine(dir.FullName, "b.csv"), "mappings/b.csv").File);
            var e = Assert.Throws<FerryInputException>(() => MappingSpecLoader.Load(Path.Combine(dir.FullName, "nope.yaml"), "mappings/nope.yaml"));
            Assert.Contains("mappings/nope.yaml", e.Message);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
