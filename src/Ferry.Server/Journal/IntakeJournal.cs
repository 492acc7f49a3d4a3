using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Text.Json;
using Ferry.Storage;
using Microsoft.Win32.SafeHandles;

namespace Ferry.Server.Journal;

/// <summary>
/// One accepted webhook request as the journal keeps it until <see cref="IntakeMover"/> has stored it as a work order:
/// the ids its 202 answer gave out, the trigger it came through, and the run's initial state (UTF-8 JSON).
/// </summary>
public sealed record JournalEntry(EnqueuedRun Ids, string Project, string Workflow, string Trigger, int Version, RetryPolicy? Retry,
    DateTimeOffset ReceivedAt, ReadOnlyMemory<byte> StateJson)
{
    /// <summary>The work order the store makes of the entry, with the ids already given out.</summary>
    public NewWorkOrder ToWorkOrder() => new(Project, Workflow, Trigger, Version, null, Retry, Ids: Ids, ReceivedAt: ReceivedAt, InputUtf8: StateJson);
}

/// <summary>
/// The intake journal: a log of accepted webhook requests in <c>&lt;data&gt;/journal/</c>. A webhook's 202 is sent once
/// its batch is written and fsynced here, which costs one write and one fsync per batch instead of a database
/// transaction; <see cref="IntakeMover"/> then stores the entries as work orders in large batches. At start the entries
/// still on disk are read back and stored again, idempotently (by work order id), so a crash between the 202 and the
/// database loses nothing.
/// </summary>
/// <remarks>
/// <para>Files: <c>journal-N.dat</c>, each made <see cref="FileBytes"/> long (zeros) when created and then overwritten in
/// place, never grown or truncated: an fsync then flushes only the written pages, not the file's size and block map
/// as well (on this project's 2-core test machine 150 µs and 30 µs of CPU per fsync instead of 230 µs and 65 µs for a
/// growing file). <c>lock</c> is held exclusively while a server uses the folder.</para>
/// <para>A file starts with a header block: <c>FERRYJ02</c>, a u64 epoch and a CRC-32C of the two. Records follow at
/// <see cref="HeaderBytes"/>: <c>[u32 length][u32 CRC-32C of epoch and payload][payload: JSON]</c>, little-endian. Each
/// time a file is (re)used it gets a new epoch, and its records are checksummed with it, so records left from an earlier
/// use fail their checksum and end the read, as zeros do. The files' epochs order their entries.</para>
/// <para>A file is free again once every entry in it is in the database and flushed (<see cref="Stored"/>): the
/// writer moves on to a free file (or a new one) when its file is full, so under a steady load two files take turns.
/// When every entry is stored, the current file starts over (a new epoch), so a restart replays little. Free files
/// beyond one spare are deleted. Segments of the earlier format (<c>NNN….log</c>, appended and truncated) are read at
/// start and deleted once stored.</para>
/// </remarks>
public sealed partial class IntakeJournal : IDisposable
{
    /// <summary>Size of a journal file. A batch larger than a whole file still goes into one, which then grows.</summary>
    public const long FileBytes = 4 * 1024 * 1024;

    /// <summary>Where records start in a file: the header has a block of its own.</summary>
    public const int HeaderBytes = 4096;

    private const int RecordHeaderBytes = 8;
    private readonly string _directory;
    private readonly FileStream _lock;
    private readonly long _fileBytes;
    private readonly SemaphoreSlim _writeGate = new(1, 1);
    private readonly ArrayBufferWriter<byte> _buffer = new(64 * 1024);
    private readonly ArrayBufferWriter<byte> _payload = new(4 * 1024);
    private readonly Utf8JsonWriter _json;
    private readonly List<JournalFile> _files; // every file on disk, the current one included
    private JournalFile _current;
    private SafeFileHandle _handle; // the current file's
    private long _position;         // where the next batch is written in the current file
    private long _lastEpoch;
    private long _entries;          // entries ever held: recovered ones first, then appended ones
    private long _stored;           // of those, the first _stored are in the database
    private bool _disposed;

    /// <summary>A file of the journal, and the ordinal (in <see cref="_entries"/>) of the last entry it holds; 0 when it
    /// holds none still waiting.</summary>
    private sealed class JournalFile(string path, bool legacy)
    {
        public string Path { get; } = path;
        public bool Legacy { get; } = legacy;
        public long Epoch { get; set; }
        public long LastEntry { get; set; }
    }

    private IntakeJournal(string directory, FileStream lockFile, long fileBytes, List<JournalFile> files, long lastEpoch, IReadOnlyList<JournalEntry> recovered)
    {
        _directory = directory;
        _lock = lockFile;
        _fileBytes = fileBytes;
        _json = new Utf8JsonWriter(_payload);
        _files = files;
        _lastEpoch = lastEpoch;
        Recovered = recovered;
        _entries = recovered.Count;
        _current = files.FirstOrDefault(f => !f.Legacy && f.LastEntry == 0) ?? NewFile();
        _handle = Activate(_current);
        // Files holding nothing any more beyond one spare (left by a backlog before the restart) give their space back.
        var spare = false;
        foreach (var file in files.Where(f => f != _current && f.LastEntry == 0).ToList())
        {
            if (!file.Legacy && !spare)
            {
                spare = true;
                continue;
            }
            File.Delete(file.Path);
            _files.Remove(file);
        }
    }

    /// <summary>Entries found on disk at open, oldest first: acknowledged, perhaps not yet stored.</summary>
    public IReadOnlyList<JournalEntry> Recovered { get; }

    /// <summary>Where the journal lives.</summary>
    public string Directory => _directory;

    /// <summary>Problems found while reading the journal at open (damaged records), for the log.</summary>
    public IReadOnlyList<string> Warnings { get; private init; } = [];

    /// <summary>
    /// Opens (or creates) the journal in <paramref name="directory"/>, takes its lock and reads back every entry still on
    /// disk (<see cref="Recovered"/>).
    /// </summary>
    /// <param name="fileBytes">The size of a journal file (<see cref="FileBytes"/>; tests use small ones).</param>
    /// <exception cref="InvalidOperationException">Another process holds the journal (two servers on one data folder).</exception>
    public static IntakeJournal Open(string directory, long fileBytes = FileBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(fileBytes, 2 * HeaderBytes);
        System.IO.Directory.CreateDirectory(directory);
        FileStream lockFile;
        try
        {
            lockFile = new FileStream(Path.Combine(directory, "lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e)
        {
            throw new InvalidOperationException(
                $"The intake journal in {directory} is in use by another ferry serve process ({e.Message}). Give each server its own --data folder.", e);
        }
        try
        {
            var (files, recovered, warnings, lastEpoch) = ReadAll(directory);
            return new IntakeJournal(directory, lockFile, fileBytes, files, lastEpoch, recovered) { Warnings = warnings };
        }
        catch
        {
            lockFile.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Writes <paramref name="entries"/> into the journal and fsyncs it: when this returns they survive a crash or power
    /// cut. One caller at a time is served; others wait. Synchronous on purpose: the write and fsync block anyway, and
    /// the intake's group-commit thread calls it directly.
    /// </summary>
    public void Append(IReadOnlyList<JournalEntry> entries, CancellationToken ct = default)
    {
        if (entries.Count == 0) return;
        _writeGate.Wait(ct);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _buffer.ResetWrittenCount();
            foreach (var entry in entries) WriteRecord(entry, _current.Epoch);
            if (_position > HeaderBytes && _position + _buffer.WrittenCount > _fileBytes)
            {
                MoveToFreeFile();
                _buffer.ResetWrittenCount();
                foreach (var entry in entries) WriteRecord(entry, _current.Epoch);
            }
            try
            {
                RandomAccess.Write(_handle, _buffer.WrittenSpan, _position);
                RandomAccess.FlushToDisk(_handle);
            }
            catch
            {
                // Not acknowledged, but some of it may be on disk: the next batch goes to another file, so nothing is
                // ever written after records that were not.
                _position = _fileBytes;
                throw;
            }
            _position += _buffer.WrittenCount;
            _entries += entries.Count;
            _current.LastEntry = _entries;
        }
        finally
        {
            _writeGate.Release();
        }
    }

    /// <summary>
    /// Tells the journal that the first <paramref name="storedCount"/> entries (recovered ones first, then in append
    /// order) are in the database, flushed: a file whose entries all are is free for reuse (or deleted, beyond one
    /// spare). When that is every entry the journal holds, the current file starts over.
    /// </summary>
    public void Stored(long storedCount)
    {
        _writeGate.Wait();
        try
        {
            if (_disposed || storedCount <= _stored) return;
            _stored = storedCount;
            foreach (var file in _files.Where(f => f.LastEntry != 0 && f.LastEntry <= storedCount).ToList())
            {
                file.LastEntry = 0;
                if (file != _current) Release(file);
            }
            // Checked under the write gate: no batch can be appended between the test and the fresh start.
            if (_current.LastEntry == 0 && _position > HeaderBytes) Switch(_current);
        }
        finally
        {
            _writeGate.Release();
        }
    }

    public void Dispose()
    {
        _writeGate.Wait();
        try
        {
            if (_disposed) return;
            _disposed = true;
            _handle.Dispose();
            _json.Dispose();
            _lock.Dispose();
        }
        finally
        {
            _writeGate.Release();
        }
    }

    /// <summary>A file whose entries are all stored: kept as the spare, its header wiped so that none of its records
    /// is read again, or deleted when there is a spare already (and always in the earlier format). Not flushed: if the
    /// wipe is lost in a crash, stored entries are read again and skipped.</summary>
    private void Release(JournalFile file)
    {
        if (file.Legacy || _files.Any(f => f != file && f != _current && !f.Legacy && f.LastEntry == 0))
        {
            File.Delete(file.Path);
            _files.Remove(file);
            return;
        }
        using var handle = File.OpenHandle(file.Path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read);
        RandomAccess.Write(handle, new byte[HeaderBytes], 0);
    }

    // Under the write gate, the current file full: on to a file whose entries are all stored, or a new one.
    private void MoveToFreeFile() => Switch(_files.FirstOrDefault(f => f != _current && !f.Legacy && f.LastEntry == 0) ?? NewFile());

    /// <summary>Makes <paramref name="file"/> (perhaps the current one, starting over) the file batches are written to.</summary>
    private void Switch(JournalFile file)
    {
        var handle = Activate(file);
        _handle.Dispose();
        _handle = handle;
        _current = file;
    }

    /// <summary>Starts a file over: a new epoch in its header; the position moves to the first record. If this fails,
    /// nothing changed.</summary>
    /// <remarks>The header is not flushed here: the fsync of the first batch written after it flushes it too, and until
    /// then nothing that relies on it is acknowledged. A crash before that leaves either header, and either way only
    /// stored entries (read again and skipped) or none.</remarks>
    private SafeFileHandle Activate(JournalFile file)
    {
        var handle = File.OpenHandle(file.Path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read);
        try
        {
            // Above every epoch used before, also those whose headers never reached the disk before a crash (their
            // records may have): the clock's ticks move on between runs of the server, the counter within one.
            var epoch = Math.Max(_lastEpoch + 1, DateTime.UtcNow.Ticks);
            Span<byte> header = stackalloc byte[HeaderBytes];
            header.Clear();
            WriteHeader(header, epoch);
            RandomAccess.Write(handle, header, 0);
            _lastEpoch = file.Epoch = epoch;
            _position = HeaderBytes;
            return handle;
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>A new file, full size, of zeros, flushed: later writes to it change no file size or block map.</summary>
    private JournalFile NewFile()
    {
        var number = 0;
        while (_files.Any(f => f.Path == SlotPath(_directory, number)) || File.Exists(SlotPath(_directory, number))) number++;
        var file = new JournalFile(SlotPath(_directory, number), legacy: false);
        using (var handle = File.OpenHandle(file.Path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.Read))
        {
            var zeros = new byte[1024 * 1024];
            for (long offset = 0; offset < _fileBytes; offset += zeros.Length)
                RandomAccess.Write(handle, zeros.AsSpan(0, (int)Math.Min(zeros.Length, _fileBytes - offset)), offset);
            RandomAccess.FlushToDisk(handle);
        }
        _files.Add(file);
        return file;
    }

    private static string SlotPath(string directory, int number) => Path.Combine(directory, $"journal-{number.ToString(CultureInfo.InvariantCulture)}.dat");

    private void WriteRecord(JournalEntry entry, long epoch)
    {
        _payload.ResetWrittenCount();
        _json.Reset(_payload);
        _json.WriteStartObject();
        _json.WriteString("workOrderId", entry.Ids.WorkOrderId);
        _json.WriteString("runId", entry.Ids.RunId);
        _json.WriteString("project", entry.Project);
        _json.WriteString("workflow", entry.Workflow);
        _json.WriteString("trigger", entry.Trigger);
        _json.WriteNumber("version", entry.Version);
        _json.WriteNumber("receivedAt", entry.ReceivedAt.ToUnixTimeMilliseconds());
        if (entry.Retry is { } retry)
        {
            _json.WriteStartArray("retry");
            _json.WriteNumberValue(retry.Attempts);
            _json.WriteNumberValue((long)retry.Backoff.TotalMilliseconds);
            _json.WriteNumberValue((long)retry.MaxBackoff.TotalMilliseconds);
            _json.WriteEndArray();
        }
        _json.WritePropertyName("state");
        _json.WriteRawValue(entry.StateJson.Span, skipInputValidation: true);
        _json.WriteEndObject();
        _json.Flush();
        var payload = _payload.WrittenSpan;
        var header = _buffer.GetSpan(RecordHeaderBytes);
        BinaryPrimitives.WriteUInt32LittleEndian(header, (uint)payload.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(header[4..], Crc32C(epoch, payload));
        _buffer.Advance(RecordHeaderBytes);
        _buffer.Write(payload);
    }
}
