using System.Buffers.Binary;
using System.Diagnostics;
using System.Reflection;
using System.Text.Json;
using Ferry.Scripting.Roslyn;

namespace Ferry.Scripting;

/// <summary>
/// Builds step code in a child process instead of this one. Roslyn, the framework metadata it reads and the code it
/// JIT-compiles stay in the child: a server that compiled its steps at deploy keeps its idle footprint (about 100 MB
/// instead of 150–200 MB), and a build that goes wrong cannot take the server down with it.
/// </summary>
/// <remarks>
/// <para>The child is this same program started with <see cref="Verb"/>; it serves one build at a time over its
/// standard input and output (<c>[u32 length][JSON]</c> frames, little-endian) until its input closes. It is started on
/// the first build and told to exit (input closed) after <see cref="IdleExit"/> without one, so a server that is not
/// deploying carries no compiler.</para>
/// <para>A child that cannot start, dies, or answers for other Ferry assemblies (a build hash that differs; it is then not
/// asked again) is not an error: that build runs in this process, as it would without a <see cref="CompilerProcess"/>.
/// A build that outlasts <see cref="BuildTimeout"/> kills the child and fails that step with FERRY298.</para>
/// </remarks>
public sealed class CompilerProcess : IDisposable
{
    /// <summary>The argument that makes <c>ferry</c> serve builds (not a user-facing verb).</summary>
    public const string Verb = "__compile-server";

    private readonly string _fileName;
    private readonly string[] _arguments;
    private readonly Lock _gate = new();
    private readonly Timer _idleTimer;
    private Process? _child;
    private long _lastUse;
    private bool _disposed;
    private bool _mismatched;

    /// <param name="fileName">The program to start (the <c>ferry</c> apphost, or <c>dotnet</c>).</param>
    /// <param name="arguments">Its arguments, ending with <see cref="Verb"/>.</param>
    public CompilerProcess(string fileName, IReadOnlyList<string> arguments)
    {
        _fileName = fileName;
        _arguments = arguments.ToArray();
        _idleTimer = new Timer(_ => StopIfIdle());
    }

    /// <summary>How long the child stays after its last build.</summary>
    public TimeSpan IdleExit { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Longest a build may take in the child. Past it the child is killed and the step gets FERRY298 instead of holding
    /// every later deploy behind it (builds go through the child one at a time).
    /// </summary>
    public TimeSpan BuildTimeout { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>Builds done by a child so far (tests, diagnostics).</summary>
    public int ChildBuilds => Volatile.Read(ref _childBuilds);

    private int _childBuilds;

    /// <summary>Whether a child process is running now.</summary>
    public bool IsRunning
    {
        get
        {
            lock (_gate) return _child is { HasExited: false };
        }
    }

    /// <summary>
    /// This program as a compiler child: <c>ferry __compile-server</c>, or <c>dotnet ferry.dll __compile-server</c> when it
    /// runs through the <c>dotnet</c> host. Null when the entry assembly cannot be found (single-file without a path).
    /// </summary>
    public static CompilerProcess? ForThisProgram()
    {
        var host = Environment.ProcessPath;
        if (host is null) return null;
        if (Path.GetFileNameWithoutExtension(host) == "dotnet")
        {
            var entry = Assembly.GetEntryAssembly()?.Location;
            return string.IsNullOrEmpty(entry) ? null : new CompilerProcess(host, [entry, Verb]);
        }
        return new CompilerProcess(host, [Verb]);
    }

    /// <summary>Builds <paramref name="request"/> in the child; null when the child could not (the caller builds in-process).</summary>
    internal BuildOutput? TryBuild(ScriptRequest request)
    {
        lock (_gate)
        {
            if (_disposed || _mismatched) return null;
            try
            {
                return BuildInChild(request);
            }
            finally
            {
                // Idle time counts from the end of the last build, however long it took.
                _lastUse = Environment.TickCount64;
                if (_child is not null && !_disposed) _idleTimer.Change(IdleExit, Timeout.InfiniteTimeSpan);
            }
        }
    }

    private BuildOutput? BuildInChild(ScriptRequest request)
    {
        for (var attempt = 0; attempt < 2; attempt++)
        {
            var timedOut = false;
            try
            {
                var child = _child is { HasExited: false } running ? running : Start();
                using var watchdog = new Timer(_ =>
                {
                    timedOut = true;
                    KillQuietly(child);
                }, null, BuildTimeout, Timeout.InfiniteTimeSpan);
                WriteFrame(child.StandardInput.BaseStream, BuildRequest.From(request));
                var reply = ReadFrame<BuildReply>(child.StandardOutput.BaseStream);
                watchdog.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
                if (reply is null && Volatile.Read(ref timedOut)) return TooSlow();
                if (reply is null) break;
                if (reply.Hash == "") return null; // the child could not build this one (it said why on stderr): build it here
                if (reply.Hash != request.Hash)
                {
                    // Another Ferry build (or another program) answered: it never will match, so stop asking it.
                    _mismatched = true;
                    Stop();
                    return null;
                }
                _childBuilds++;
                return reply.ToOutput();
            }
            catch (Exception e) when (e is IOException or InvalidOperationException or System.ComponentModel.Win32Exception or JsonException or InvalidDataException)
            {
                Kill(); // a dead or confused child: start a fresh one once, then build here
                if (Volatile.Read(ref timedOut)) return TooSlow();
            }
        }
        return null;
    }

    private BuildOutput TooSlow()
    {
        Kill();
        return new BuildOutput(null, null, [new RawDiagnostic("FERRY298",
            $"Compiling this code took longer than {BuildTimeout.TotalSeconds:0} s, so the compiler was stopped.",
            "Split very long code into smaller steps or files; if the code is short, please report it with the code.", 0, 0)]);
    }

    private static void KillQuietly(Process child)
    {
        try
        {
            child.Kill();
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            // Already gone.
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            Stop();
        }
        _idleTimer.Dispose();
    }

    /// <summary>
    /// The child's side: reads build requests from <paramref name="input"/> and writes each result to
    /// <paramref name="output"/> until the input ends. Returns the process exit code.
    /// </summary>
    public static int Serve(Stream input, Stream output)
    {
        while (ReadFrame<BuildRequest>(input) is { } message)
        {
            BuildReply reply;
            try
            {
                var request = message.ToRequest();
                reply = BuildReply.From(request.Hash, ScriptBuilder.Build(request));
            }
            catch (Exception e)
            {
                // Answered with no hash: the parent builds this one itself.
                Console.Error.WriteLine($"ferry compiler process: {e}");
                reply = new BuildReply("", null, null, []);
            }
            WriteFrame(output, reply);
        }
        return 0;
    }

    private Process Start()
    {
        var info = new ProcessStartInfo(_fileName)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = false,
            UseShellExecute = false,
        };
        foreach (var argument in _arguments) info.ArgumentList.Add(argument);
        _child = Process.Start(info) ?? throw new InvalidOperationException($"Could not start {_fileName}.");
        return _child;
    }

    private void StopIfIdle()
    {
        lock (_gate)
        {
            var idle = TimeSpan.FromMilliseconds(Environment.TickCount64 - _lastUse);
            if (idle < IdleExit)
            {
                if (_child is not null && !_disposed) _idleTimer.Change(IdleExit - idle, Timeout.InfiniteTimeSpan);
                return;
            }
            Stop();
        }
    }

    /// <summary>Closes the child's input: it finishes and exits by itself.</summary>
    private void Stop()
    {
        if (_child is null) return;
        try
        {
            _child.StandardInput.Close();
            if (!_child.WaitForExit(TimeSpan.FromSeconds(5))) _child.Kill();
        }
        catch (Exception e) when (e is IOException or InvalidOperationException)
        {
            // Already gone.
        }
        _child.Dispose();
        _child = null;
    }

    private void Kill()
    {
        if (_child is null) return;
        KillQuietly(_child);
        _child.Dispose();
        _child = null;
    }

    private static void WriteFrame<T>(Stream stream, T message)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(message);
        Span<byte> header = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(header, body.Length);
        stream.Write(header);
        stream.Write(body);
        stream.Flush();
    }

    /// <summary>The next frame, or null at the end of the stream.</summary>
    private static T? ReadFrame<T>(Stream stream) where T : class
    {
        Span<byte> header = stackalloc byte[4];
        var read = stream.ReadAtLeast(header, 4, throwOnEndOfStream: false);
        if (read == 0) return null;
        if (read < 4) throw new InvalidDataException("The compiler process's stream ended inside a frame header.");
        var length = BinaryPrimitives.ReadInt32LittleEndian(header);
        if (length is < 0 or > 256 * 1024 * 1024) throw new InvalidDataException($"The compiler process sent a frame of {length} bytes.");
        var body = new byte[length];
        stream.ReadExactly(body);
        return JsonSerializer.Deserialize<T>(body);
    }

    internal sealed record BuildRequest(ScriptKind Kind, string Code, string? AdaptorType, string? AdaptorGlobalName, AssemblyRef[] ApiAssemblies, AssemblyRef? AdaptorAssembly)
    {
        public static BuildRequest From(ScriptRequest r) => new(r.Kind, r.Code, r.AdaptorType?.FullName, r.AdaptorGlobalName,
            r.ApiAssemblies.Select(AssemblyRef.Of).ToArray(), r.AdaptorType is null ? null : AssemblyRef.Of(r.AdaptorType.Assembly));

        /// <summary>The same request in the child, with its own copies of the same assemblies (the reply's hash proves it).</summary>
        public ScriptRequest ToRequest()
        {
            var adaptor = AdaptorAssembly is null || AdaptorType is null ? null : AdaptorAssembly.Load().GetType(AdaptorType, throwOnError: true);
            return new ScriptRequest(Kind, Code, adaptor, AdaptorGlobalName, ApiAssemblies.Select(a => a.Load()).ToArray());
        }
    }

    /// <summary>An assembly by name (as this program resolves it), or else by the parent's file.</summary>
    internal sealed record AssemblyRef(string FullName, string Path)
    {
        public static AssemblyRef Of(Assembly assembly) => new(assembly.FullName!, assembly.Location);

        public Assembly Load()
        {
            try
            {
                return Assembly.Load(new AssemblyName(FullName));
            }
            catch (FileNotFoundException)
            {
                return Assembly.LoadFrom(Path);
            }
        }
    }

    internal sealed record BuildReply(string Hash, byte[]? Assembly, byte[]? Pdb, RawDiagnostic[] Diagnostics)
    {
        public static BuildReply From(string hash, BuildOutput output) => new(hash, output.Assembly, output.Pdb, output.Diagnostics.ToArray());

        public BuildOutput ToOutput() => new(Assembly, Pdb, Diagnostics);
    }
}
