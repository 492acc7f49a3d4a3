using Ferry.Mapping;

namespace Ferry.Tests.Mapping;

public class MappingDocTests
{
    private static readonly MappingSpec Spec = MappingSpecLoader.ParseYaml("""
        description: Cases <to> Go.Data
        value_maps:
          sex: { M: male, F: female }
        fields:
          - { target: patient.id, source: case_id, required: true, notes: "a|b" }
          - target: patient.birthDate
            source: dob
            format: { from: MM/dd/yyyy, to: yyyy-MM-dd }
          - { target: patient.gender, source: sex, value_map: sex, default: unknown }
          - { target: country, value: UG }
          - { target: fullName, compute: "{first_name} {last_name}" }
        """, "mappings/cases.yaml");

    [Fact]
    public void Markdown_table_lists_every_field_with_its_rules()
    {
        var md = MappingDoc.Render(Spec, "markdown");
        Assert.Contains("| Target | Source | Transformation | Value map | Default | Required | Notes |", md);
        Assert.Contains("| patient.id | case_id |  |  |  | yes | a\\|b |", md);
        Assert.Contains("| patient.birthDate | dob | date MM/dd/yyyy → yyyy-MM-dd |", md);
        Assert.Contains("| patient.gender | sex |  | sex: M → male, F → female | unknown |", md);
        Assert.Contains("| country | = \"UG\" |", md);
        Assert.Contains("computed: {first_name} {last_name}", md);
        Assert.Contains("Records that break a rule: stop the step.", md, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Html_page_is_standalone_and_escapes_text()
    {
        var html = MappingDoc.Render(Spec, "html");
        Assert.StartsWith("<!DOCTYPE html>", html);
        Assert.Contains("<td>patient.gender</td><td>sex</td>", html);
        Assert.Contains("Cases &lt;to&gt; Go.Data", html);
        Assert.EndsWith("</html>\n", html);
    }

    [Fact]
    public void Unknown_format_is_refused_with_the_formats_that_exist()
    {
        var e = Assert.Throws<ArgumentException>(() => MappingDoc.Render(Spec, "pdf"));
        Assert.Contains("markdown or html", e.Message);
    }
}
