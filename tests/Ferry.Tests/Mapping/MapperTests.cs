using Ferry.Json;
using Ferry.Mapping;
using static Ferry.Tests.Mapping.MappingTestSupport;

namespace Ferry.Tests.Mapping;

public class MapperTests
{
    private const string CaseSpec = """
        source: data
        on_error: skip
        value_maps:
          sex: { M: male, F: female }
        fields:
          - target: patient.id
            source: case_id
            required: true
          - target: patient.birthDate
            source: dob
            format: { from: MM/dd/yyyy, to: yyyy-MM-dd }
          - target: patient.gender
            source: sex
            value_map: sex
            default: unknown
          - target: country
            value: UG
          - target: fullName
            compute: "{first_name} {last_name}"
          - target: age
            source: age
            type: integer
        """;

    private const string CaseState = """
        {"data":[
          {"case_id":"C1","dob":"01/31/1990","sex":"F","first_name":"Ana","last_name":"Lopez","age":"34","extra":{"x":[1,2]}},
          {"case_id":"C2","dob":"12/01/2001","sex":"X","first_name":"Bo","age":7},
          {"dob":"02/02/2002"},
          {"case_id":"C4","dob":"13/45/2020"},
          "not a record",
          {"case_id":"C6","age":"seven"}
        ],"other":1}
        """;

    [Fact]
    public void Maps_renames_dates_value_maps_constants_computed_fields_and_types_into_nested_targets()
    {
        var (state, report) = RunRaw(CaseSpec, CaseState);
        var data = (JsArray)state["data"]!;
        Assert.Equal("""{"patient":{"id":"C1","birthDate":"1990-01-31","gender":"female"},"country":"UG","fullName":"Ana Lopez","age":34}""", AsJson(data[0]));
        Assert.Equal("""{"patient":{"id":"C2","birthDate":"2001-12-01","gender":"unknown"},"country":"UG","fullName":"Bo ","age":7}""", AsJson(data[1]));
        Assert.Equal(2, data.Count);
        Assert.Equal(6, report.Read);
        Assert.Equal(2, report.Mapped);
        Assert.Equal(4, report.Rejected);
        Assert.False(report.Stopped);
        Assert.Equal(1, (int)((dynamic)state).other);
    }

    [Fact]
    public void Skipped_records_are_listed_in_rejected_with_rule_field_message_and_record()
    {
        var (state, report) = RunRaw(CaseSpec, CaseState);
        dynamic rejected = state["rejected"]!;
        Assert.Equal(4, (int)rejected.Length);

        Assert.Equal(2, (int)rejected[0].index);
        Assert.Equal("required", (string)rejected[0].rule);
        Assert.Equal("patient.id", (string)rejected[0].field);
        Assert.Contains("'case_id' is missing", (string)rejected[0].message);
        Assert.Equal("02/02/2002", (string)rejected[0].record.dob);

        Assert.Equal("format", (string)rejected[1].rule);
        Assert.Contains("'13/45/2020' is not a date in the format MM/dd/yyyy", (string)rejected[1].message);

        Assert.Equal("record", (string)rejected[2].rule);
        Assert.Contains("record 4 is a text, not an object", (string)rejected[2].message);
        Assert.Equal("not a record", (string)rejected[2].record);

        Assert.Equal("type", (string)rejected[3].rule);
        Assert.Contains("'seven'", (string)rejected[3].message);

        Assert.Equal(4, report.Issues.Count);
        Assert.Equal([2, 3, 4, 5], report.Issues.Select(i => i.RecordIndex).ToArray());
        Assert.Contains("\"case_id\":\"C4\"", report.Issues[1].RecordExcerpt);
    }

    [Fact]
    public void Raw_and_materialized_records_give_identical_output()
    {
        var (raw, rawReport) = RunRaw(CaseSpec, CaseState);
        var (materialized, matReport) = RunMaterialized(CaseSpec, CaseState);
        Assert.True(Js.DeepEquals(raw, materialized), Js.FindSubsetMismatch(raw, materialized));
        Assert.Equal(AsJson(raw["data"]), AsJson(materialized["data"]));
        Assert.Equal(rawReport.Issues.Select(i => i.Message), matReport.Issues.Select(i => i.Message));
    }

    [Fact]
    public void Raw_records_produce_raw_output_without_building_a_dom()
    {
        var (state, _) = RunRaw(CaseSpec, CaseState);
        Assert.IsType<RawJson>(state.GetUnmaterialized("data"));
    }

    [Fact]
    public void Stop_mode_reports_the_first_bad_record_and_leaves_state_unchanged()
    {
        var spec = CaseSpec.Replace("on_error: skip", "on_error: stop", StringComparison.Ordinal);
        var (state, report) = RunRaw(spec, CaseState);
        Assert.True(report.Stopped);
        Assert.Equal(3, report.Read);
        Assert.Single(report.Issues);
        Assert.Equal("required", report.Issues[0].Rule);
        Assert.Contains("record 2, field 'patient.id' (required)", report.FailureMessage);
        Assert.Contains("on_error: skip", report.FailureMessage);
        Assert.Null(state["rejected"]);
        Assert.Equal(6, ((JsArray)state["data"]!).Count);
    }

    [Fact]
    public void Unmapped_code_is_a_rule_break_in_strict_mode_even_with_a_default()
    {
        const string spec = """
            on_error: skip
            fields:
              - target: gender
                source: sex
                value_map: { M: male, F: female }
                default: unknown
                strict: true
            """;
        var (state, report) = RunRaw(spec, """{"data":[{"sex":"M"},{"sex":"Q"},{}]}""");
        Assert.Equal("""[{"gender":"male"},{"gender":"unknown"}]""", AsJson(state["data"]));
        var issue = Assert.Single(report.Issues);
        Assert.Equal("value_map", issue.Rule);
        Assert.Contains("'Q' is not in the value map", issue.Message);
        Assert.Contains("known codes: M, F", issue.Message);
    }

    [Fact]
    public void Unmapped_code_without_default_is_a_rule_break()
    {
        const string spec = """
            on_error: skip
            fields:
              - { target: g, source: sex, value_map: { "1": true, "2": false }, type: boolean }
            """;
        var (state, report) = RunRaw(spec, """{"data":[{"sex":1},{"sex":"2"},{"sex":3}]}""");
        Assert.Equal("""[{"g":true},{"g":false}]""", AsJson(state["data"]));
        Assert.Equal("value_map", Assert.Single(report.Issues).Rule);
    }

    [Fact]
    public void Missing_optional_fields_are_left_out_and_empty_nested_objects_are_not_written()
    {
        const string spec = """
            fields:
              - { target: id, source: id }
              - { target: address.city, source: city }
              - { target: address.zip, source: zip }
            """;
        var (state, _) = RunRaw(spec, """{"data":[{"id":1},{"id":2,"city":"Gulu","zip":null}]}""");
        Assert.Equal("""[{"id":1},{"id":2,"address":{"city":"Gulu"}}]""", AsJson(state["data"]));
    }

    [Fact]
    public void Nested_sources_array_targets_and_template_functions_work()
    {
        const string spec = """
            target: mapped
            fields:
              - { target: "name[0].family", source: "person.names[1].last" }
              - target: name[0].given[0]
                source: person.first
                transform: [trim, upper]
              - { target: code, compute: "{upper(trim(code))}-{lower(concat(a, '_', b))}" }
              - { target: phone, compute: "{coalesce(mobile, phone)}" }
              - { target: label, compute: "{{ {person.first} }}" }
            """;
        var (state, _) = RunRaw(spec, """
            {"data":[{"person":{"first":" ana ","names":[{"last":"X"},{"last":"Lopez"}]},"code":" ab ","a":"X","b":"Y","phone":256700}]}
            """);
        Assert.Equal("""[{"name":[{"family":"Lopez","given":["ANA"]}],"code":"AB-x_y","phone":256700,"label":"{  ana  }"}]""", AsJson(state["mapped"]));
        Assert.IsType<RawJson>(state.GetUnmaterialized("data"));
    }

    [Fact]
    public void Types_convert_text_to_numbers_booleans_and_dates()
    {
        const string spec = """
            on_error: skip
            fields:
              - { target: n, source: n, type: number }
              - { target: i, source: i, type: integer }
              - { target: b, source: b, type: boolean }
              - { target: s, source: s, type: string }
              - { target: d, source: d, type: date }
            """;
        var (state, report) = RunRaw(spec, """
            {"data":[{"n":"1.50","i":"42","b":"yes","s":12,"d":"2024-02-29"},{"n":2,"i":3.0,"b":false,"s":"x","d":"2024-02-30"}]}
            """);
        Assert.Equal("""[{"n":1.5,"i":42,"b":true,"s":"12","d":"2024-02-29"}]""", AsJson(state["data"]));
        var issue = Assert.Single(report.Issues);
        Assert.Equal(("d", "type"), (issue.Field, issue.Rule));
    }

    [Fact]
    public void Escaped_text_in_records_is_read_and_written_correctly()
    {
        const string spec = """
            fields:
              - { target: name, source: "na\u006de" }
              - { target: up, source: name, transform: upper }
              - { target: sex, source: sex, value_map: { "é": e } }
            """;
        var (state, _) = RunRaw(spec, """{"data":[{"n\u0061me":"say \"hi\"\n","sex":"\u00e9"}]}""");
        Assert.Equal("""[{"name":"say \"hi\"\n","up":"SAY \"HI\"\n","sex":"e"}]""", AsJson(state["data"]));
    }

    [Fact]
    public void Skipped_members_with_brackets_and_quotes_inside_texts_do_not_confuse_the_scanner()
    {
        const string spec = "fields:\n  - { target: id, source: id }\n  - { target: n, source: n }\n  - { target: flag, source: flag }\n";
        var (state, report) = RunRaw(spec, """
            {
              "data" : [
                { "skip" : { "a" : [ "}]\"{[" , { "b" : "\\" } ] , "c" : null } ,
                  "t\u0061il" : "x\"}" , "id" : "A" , "n" : -1.5e3 , "flag" : false } ,
                { "id" : "B" , "skip" : [ [ ] , { } ] , "flag" : true , "n" : 0 } ,
                { }
              ]
            }
            """);
        Assert.Equal("""[{"id":"A","n":-1500,"flag":false},{"id":"B","n":0,"flag":true},{}]""", AsJson(state["data"]));
        Assert.Equal(3, report.Mapped);
    }

    [Fact]
    public void A_single_source_object_is_mapped_as_one_record()
    {
        const string spec = "fields:\n  - { target: id, source: case_id }\n";
        var (state, report) = RunMaterialized(spec, """{"data":{"case_id":"C9"}}""");
        Assert.Equal("""{"id":"C9"}""", AsJson(state["data"]));
        Assert.Equal(1, report.Mapped);
    }

    [Fact]
    public void Missing_source_array_stops_with_a_message_that_names_the_path()
    {
        var (_, report) = RunRaw("source: data.rows\nfields:\n  - { target: id, source: id }\n", """{"data":{"x":1}}""");
        Assert.True(report.Stopped);
        Assert.Contains("state.data.rows", report.FailureMessage);
        Assert.Contains("found nothing", report.FailureMessage);
    }

    [Fact]
    public void Source_below_a_raw_member_is_found_without_materializing_it()
    {
        const string spec = "source: data.rows\ntarget: out\nfields:\n  - { target: id, source: id }\n";
        var (state, report) = RunRaw(spec, """{"data":{"meta":1,"rows":[{"id":1},{"id":2}]}}""");
        Assert.Equal(2, report.Mapped);
        Assert.Equal("""[{"id":1},{"id":2}]""", AsJson(state["out"]));
        Assert.IsType<RawJson>(state.GetUnmaterialized("data"));
    }

    [Fact]
    public void Rejected_records_are_appended_to_an_existing_rejected_list()
    {
        const string spec = "on_error: skip\nfields:\n  - { target: id, source: id, required: true }\n";
        var (state, _) = RunMaterialized(spec, """{"data":[{},{"id":1}],"rejected":[{"index":9}]}""");
        Assert.Equal(2, ((JsArray)state["rejected"]!).Count);
    }
}

public class MapperParallelTests
{
    private const string Spec = """
        on_error: skip
        fields:
          - { target: id, source: id, required: true }
          - { target: note, source: note }
          - { target: sex, source: sex, value_map: { M: male, F: female } }
        """;

    private static string Records(int count, Func<int, string> record) =>
        "{\"data\":[" + string.Join(",\n ", Enumerable.Range(0, count).Select(record)) + "]}";

    private static (JsObject State, MappingReport Report) Run(string stateJson, int threshold)
    {
        var spec = MappingSpecLoader.ParseYaml(Spec, "m.yaml");
        var state = Js.ParseStateObject(System.Text.Encoding.UTF8.GetBytes(stateJson));
        return (state, Mapper.Apply(spec, state, threshold));
    }

    [Fact]
    public void Two_halves_give_the_same_output_rejections_and_indexes_as_one_pass()
    {
        var json = Records(2001, i => i % 97 == 0 ? $"{{\"note\":\"no id {i}\"}}" : $"{{\"id\":{i},\"sex\":\"{(i % 2 == 0 ? "M" : "F")}\",\"note\":\"n{i}\"}}");
        var (one, oneReport) = Run(json, int.MaxValue);
        var (two, twoReport) = Run(json, 0);
        Assert.Equal(AsJson(one["data"]), AsJson(two["data"]));
        Assert.Equal(AsJson(one["rejected"]), AsJson(two["rejected"]));
        Assert.Equal((oneReport.Read, oneReport.Mapped, oneReport.Rejected), (twoReport.Read, twoReport.Mapped, twoReport.Rejected));
        Assert.Equal(oneReport.Issues.Select(i => i.RecordIndex), twoReport.Issues.Select(i => i.RecordIndex));
        Assert.Equal(2001 - 21, twoReport.Mapped);
        Assert.Equal(1940, (int)((dynamic)two).rejected[20].index);
    }

    [Fact]
    public void A_record_boundary_lookalike_inside_text_does_not_change_the_result()
    {
        // Every note holds `},{` so that the midpoint guess lands inside a text.
        var json = Records(400, i => $"{{\"id\":{i},\"note\":\"x}},{{\\\"id\\\":-1,\\\"sex\\\":\\\"M\\\"}},{{y\"}}");
        var (one, _) = Run(json, int.MaxValue);
        var (two, report) = Run(json, 0);
        Assert.Equal(400, report.Mapped);
        Assert.Equal(AsJson(one["data"]), AsJson(two["data"]));
    }

    [Fact]
    public void Stop_in_the_second_half_reports_the_record_index_in_the_whole_array()
    {
        var json = Records(1000, i => i == 900 ? "{}" : $"{{\"id\":{i}}}");
        var spec = MappingSpecLoader.ParseYaml(Spec.Replace("on_error: skip", "on_error: stop", StringComparison.Ordinal), "m.yaml");
        var state = Js.ParseStateObject(System.Text.Encoding.UTF8.GetBytes(json));
        var report = Mapper.Apply(spec, state, 0);
        Assert.True(report.Stopped);
        Assert.Equal(900, Assert.Single(report.Issues).RecordIndex);
    }
}
