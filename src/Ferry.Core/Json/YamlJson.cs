using System.Globalization;
using Ferry.Diagnostics;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Ferry.Json;

/// <summary>Converts YAML (flow tests, inline state) into JSON state values, with YAML 1.2 core-schema scalars.</summary>
public static class YamlJson
{
    public static object? ToJs(YamlNode node) => node switch
    {
        YamlMappingNode map => ToObject(map),
        YamlSequenceNode seq => new JsArray(seq.Children.Select(ToJs)),
        YamlScalarNode scalar => Scalar(scalar),
        _ => null,
    };

    private static JsObject ToObject(YamlMappingNode map)
    {
        var obj = new JsObject(map.Children.Count);
        foreach (var (key, value) in map.Children) obj.Set(((YamlScalarNode)key).Value ?? "", ToJs(value));
        return obj;
    }

    private static object? Scalar(YamlScalarNode scalar)
    {
        var text = scalar.Value ?? "";
        if (scalar.Style is ScalarStyle.SingleQuoted or ScalarStyle.DoubleQuoted or ScalarStyle.Literal or ScalarStyle.Folded) return text;
        switch (text)
        {
            case "" or "~" or "null" or "Null" or "NULL": return null;
            case "true" or "True" or "TRUE": return true;
            case "false" or "False" or "FALSE": return false;
        }
        if (int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var i)) return i;
        if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l)) return l;
        if (text.Length > 0 && (char.IsDigit(text[0]) || text[0] is '-' or '+' or '.') &&
            double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d)) return d;
        return text;
    }

    /// <summary>The 1-based location of a node in its file.</summary>
    public static SourceLocation At(string file, YamlNode node) => new(file, (int)node.Start.Line, (int)node.Start.Column);

    /// <summary>Loads a YAML file's root mapping, or throws a FerryInputException naming the file, line and column.</summary>
    public static YamlMappingNode LoadMapping(string path, string displayPath)
    {
        var stream = new YamlStream();
        try
        {
            using var reader = new StreamReader(path);
            stream.Load(reader);
        }
        catch (YamlException e)
        {
            throw new FerryInputException("FERRY001", $"Malformed YAML: {e.InnerException?.Message ?? e.Message}",
                new SourceLocation(displayPath, (int)e.Start.Line, (int)e.Start.Column), "Fix the YAML syntax at that position (indentation and ':' are the usual suspects).");
        }
        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode root)
            throw new FerryInputException("FERRY002", "The file must hold a YAML mapping (key: value lines).", new SourceLocation(displayPath, 1, 1));
        return root;
    }
}
