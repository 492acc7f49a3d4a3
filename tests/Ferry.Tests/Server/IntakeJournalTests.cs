using System.Text;
using Ferry.Server.Journal;
using Ferry.Storage;

namespace Ferry.Tests.Server;

/// <summary>The intake journal's files: what was appended comes back after a reopen, a torn tail is cut, and stored
/// segments are deleted.</summary>
public sealed class IntakeJournalTests : IDisposable
{
    private readonly string _dir = Path.Combine(Directory.CreateTempSubdirectory("ferry-journal").FullName, "journal");

    public void Dispose() => Directory.Delete(Path.GetDirectoryName(_dir)!, recursive: true);

    private static JournalEntry Entry(int n, RetryPolicy? retry = null) =>
        new(new EnqueuedRun(Guid.CreateVersion7(), Guid.CreateVersion7()), "p", "w", "hook", 3, retry,
            DateTimeOffset.FromUnixTimeMilliseconds(1_790_000_000_000 + n), Encoding.UTF8.GetBytes($$$"""{"data":{"n":{{{n}}},"name":"Amina Okello é"},"request":{"method":"POST"}}"""));

    private string[] Segments() => Directory.GetFiles(_dir, "*.log").Order().ToArray();

    [Fact]
    public async Task Appended_entries_come_back_in_order_with_their_ids_trigger_retry_time_and_state_after_a_reopen()
    {
        var written = Enumerable.Range(0, 50).Select(n => Entry(n, n % 2 == 0 ? new RetryPolicy(4, TimeSpan.FromSeconds(2), TimeSpan.FromMinutes(5)) : null)).ToList();
        using (var journal = IntakeJournal.Open(_dir))
        {
            Assert.Empty(journal.Recovered);
            journal.Append(written.Take(20).ToList());
            journal.Append(written.Skip(20).ToList());
        }

        using var reopened = IntakeJournal.Open(_dir);
        Assert.Equal(50, reopened.Recovered.Count);
        for (var i = 0; i < 50; i++)
        {
            var (a, b) = (written[i], reopened.Recovered[i]);
            Assert.Equal((a.Ids, a.Project, a.Workflow, a.Trigger, a.Version, a.ReceivedAt), (b.Ids, b.Project, b.Workflow, b.Trigger, b.Version, b.ReceivedAt));
            Assert.Equal(a.Retry, b.Retry);
            Assert.Equal(Encoding.UTF8.GetString(a.StateJson.Span), Encoding.UTF8.GetString(b.StateJson.Span));
        }
        Assert.Empty(reopened.Warnings);
    }

    [Fact]
    public async Task A_record_cut_short_by_a_crash_is_removed_and_the_entries_before_it_are_kept()
    {
        using (var journal = IntakeJournal.Open(_dir)) journal.Append([Entry(1), Entry(2)]);
        var segment = Assert.Single(Segments());
        var intact = new FileInfo(segment).Length;
        // A write that never finished: a header promising 500 bytes, and 7 of them.
        await using (var file = new FileStream(segment, FileMode.Append)) file.Write([0xF4, 0x01, 0, 0, 1, 2, 3, 4, (byte)'{', (byte)'"', 1, 2, 3, 4, 5]);

        using var reopened = IntakeJournal.Open(_dir);
        Assert.Equal(2, reopened.Recovered.Count);
        Assert.Contains("cut short", Assert.Single(reopened.Warnings), StringComparison.Ordinal);
        Assert.Equal(intact, new FileInfo(segment).Length);
    }

    [Fact]
    public async Task A_record_failing_its_checksum_ends_what_is_read_and_is_reported_with_its_byte_offset()
    {
        using (var journal = IntakeJournal.Open(_dir)) journal.Append([Entry(1), Entry(2), Entry(3)]);
        var segment = Assert.Single(Segments());
        var bytes = File.ReadAllBytes(segment);
        var second = 8 + BitConverter.ToInt32(bytes, 0);
        bytes[second + 20] ^= 0x55; // flip bits inside the second record's JSON
        File.WriteAllBytes(segment, bytes);

        using var reopened = IntakeJournal.Open(_dir);
        Assert.Single(reopened.Recovered);
        var warning = Assert.Single(reopened.Warnings);
        Assert.Contains("checksum", warning, StringComparison.Ordinal);
        Assert.Contains($"byte {second}", warning, StringComparison.Ordinal);
    }

    [Fact]
    public void A_second_server_on_the_same_journal_is_refused_with_the_folder_named()
    {
        using var first = IntakeJournal.Open(_dir);
        var error = Assert.Throws<InvalidOperationException>(() => IntakeJournal.Open(_dir));
        Assert.Contains(_dir, error.Message, StringComparison.Ordinal);
        Assert.Contains("--data", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Stored_entries_leave_the_disk_once_every_entry_is_stored_and_not_before()
    {
        using (var journal = IntakeJournal.Open(_dir))
        {
            var first = new[] { Entry(1), Entry(2) };
            var second = new[] { Entry(3) };
            journal.Append(first);
            journal.Append(second);

            journal.Stored(2, first[^1].Segment); // entry 3 still waits: its segment stays
            Assert.Single(Segments());
            journal.Stored(3, second[^1].Segment); // all stored: the journal is emptied
            Assert.DoesNotContain(Segments(), s => new FileInfo(s).Length > 0);

            journal.Append([Entry(4)]);
        }
        using var reopened = IntakeJournal.Open(_dir);
        var left = Assert.Single(reopened.Recovered);
        Assert.Equal(1_790_000_000_004, left.ReceivedAt.ToUnixTimeMilliseconds());
    }

    [Fact]
    public async Task Recovered_entries_stay_on_disk_until_stored_even_after_new_appends()
    {
        using (var journal = IntakeJournal.Open(_dir)) journal.Append([Entry(1)]);
        using (var journal = IntakeJournal.Open(_dir))
        {
            Assert.Single(journal.Recovered);
            var fresh = new[] { Entry(2) };
            journal.Append(fresh);
            Assert.Equal(2, Segments().Length); // the recovered segment and a new one
            journal.Stored(1, journal.Recovered[0].Segment);
            Assert.Equal(2, Segments().Length); // the new entry is not stored: nothing older than its segment was waiting
            journal.Stored(2, fresh[0].Segment);
            Assert.DoesNotContain(Segments(), s => new FileInfo(s).Length > 0);
        }
        using var reopened = IntakeJournal.Open(_dir);
        Assert.Empty(reopened.Recovered);
    }
}
