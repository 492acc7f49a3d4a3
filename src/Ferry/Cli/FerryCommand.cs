using System.CommandLine;
using Ferry.Diagnostics;

namespace Ferry.Cli;

/// <summary>The root command: wires the verbs and turns every refusal into a clear message and exit code 2.</summary>
internal static class FerryCommand
{
    public static async Task<int> InvokeAsync(string[] args)
    {
        Scripting.Sandbox.ConfigureProcess();
        // The server's step compiler (a child process reading build requests on stdin): not a verb for people.
        if (args is [Scripting.CompilerProcess.Verb])
            return Scripting.CompilerProcess.Serve(Console.OpenStandardInput(), Console.OpenStandardOutput());
        var root = new RootCommand("Ferry: build, test and run data integrations (https://github.com/ferry docs in docs/).")
        {
            RunCommand.Build(),
            TestCommand.Build(),
            ValidateCommand.Build(),
            DocsCommand.Build(),
            NewCommand.Build(),
            MappingCommand.Build(),
            DeployCommand.Build(),
            DeployCommand.BuildPull(),
            ServeCommand.Build(),
        };
        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            foreach (var error in parsed.Errors) Console.Error.WriteLine($"error: {error.Message}");
            Console.Error.WriteLine("Run 'ferry --help' (or 'ferry <verb> --help') for usage.");
            return ExitCodes.InvalidInput;
        }
        return await parsed.InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
    }

    /// <summary>Runs a verb body: input refusals print every diagnostic and exit 2; nothing prints a stack trace.</summary>
    public static async Task<int> Guard(Output output, Func<Task<int>> body)
    {
        try
        {
            return await body();
        }
        catch (FerryInputException e)
        {
            output.Diagnostics(e.Diagnostics);
            if (e.Diagnostics.Count > 1) output.Failure($"{e.Diagnostics.Count(d => d.IsError)} problems found.");
            if (output.Json) Output.Stdout(Json.Js.ToJson(new { status = "invalid", problems = e.Diagnostics.Select(d => d.ToString()) }, indented: true));
            return ExitCodes.InvalidInput;
        }
        catch (IOException e)
        {
            output.Failure($"error: {e.Message}");
            return ExitCodes.InvalidInput;
        }
        catch (UnauthorizedAccessException e)
        {
            output.Failure($"error: {e.Message} Check the file permissions.");
            return ExitCodes.InvalidInput;
        }
        catch (Exception e) when (Environment.GetEnvironmentVariable("FERRY_DEBUG") is null)
        {
            output.Failure($"internal error: {e.GetType().Name}: {e.Message} (set FERRY_DEBUG=1 for details and please report it).");
            return ExitCodes.RunFailed;
        }
    }
}
