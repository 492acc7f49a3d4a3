using Ferry.Storage;

namespace Ferry.Tests.Storage;

/// <summary>Users, members, tokens and the audit log, on every database.</summary>
public abstract partial class StoreCompliance
{
    private static NewToken Token(string id, string user, string kind = TokenKinds.Api, DateTimeOffset? expires = null) =>
        new(id, new string('A', 64), user, $"token {id}", kind, expires);

    [Fact]
    public async Task Users_are_created_once_then_changed_field_by_field_and_listed_by_name()
    {
        var created = await Store.CreateUserAsync("zoe", "hash1", isServerAdmin: false);
        var duplicate = await Store.CreateUserAsync("zoe", "other", isServerAdmin: true);
        await Store.CreateUserAsync("amir", null, isServerAdmin: true);
        Clock.Advance(TimeSpan.FromMinutes(1));
        var disabled = await Store.UpdateUserAsync("zoe", new UserChange(Disabled: true));
        var promoted = await Store.UpdateUserAsync("zoe", new UserChange(IsServerAdmin: true, PasswordHash: "hash2"));
        var unknown = await Store.UpdateUserAsync("nobody", new UserChange(Disabled: true));

        Assert.NotNull(created);
        Assert.Null(duplicate);
        Assert.Null(unknown);
        Assert.True(disabled!.Disabled);
        Assert.Equal("hash1", disabled.PasswordHash);
        Assert.False(disabled.IsServerAdmin);
        Assert.True(promoted!.IsServerAdmin);
        Assert.True(promoted.Disabled);
        Assert.Equal("hash2", promoted.PasswordHash);
        Assert.Equal(Clock.GetUtcNow(), promoted.UpdatedAt);
        Assert.Equal(["amir", "zoe"], (await Store.ListUsersAsync()).Select(u => u.Username));
        Assert.Null((await Store.GetUserAsync("amir"))!.PasswordHash);
    }

    [Fact]
    public async Task Setting_and_removing_members_returns_the_role_they_had()
    {
        await Store.CreateUserAsync("ana", null, false);
        await Store.CreateUserAsync("ben", null, false);

        var first = await Store.SetMemberAsync("p", "ana", "viewer");
        var changed = await Store.SetMemberAsync("p", "ana", "admin");
        await Store.SetMemberAsync("q", "ana", "owner");
        await Store.SetMemberAsync("p", "ben", "editor");
        var removed = await Store.RemoveMemberAsync("p", "ben");
        var removedAgain = await Store.RemoveMemberAsync("p", "ben");

        Assert.Null(first);
        Assert.Equal("viewer", changed);
        Assert.Equal("editor", removed);
        Assert.Null(removedAgain);
        Assert.Equal([("ana", "admin")], (await Store.ListMembersAsync("p")).Select(m => (m.Username, m.Role)));
        Assert.Equal([("p", "admin"), ("q", "owner")], (await Store.ListMembershipsAsync("ana")).Select(m => (m.Project, m.Role)));
    }

    [Fact]
    public async Task Tokens_are_listed_for_their_user_until_revoked_or_expired()
    {
        await Store.CreateUserAsync("ana", null, false);
        await Store.SaveTokenAsync(Token("tok00001", "ana"));
        await Store.SaveTokenAsync(Token("tok00002", "ana", TokenKinds.Session, Clock.GetUtcNow().AddHours(12)));
        await Store.SaveTokenAsync(Token("tok00003", "ana"));

        var revokedAt = await Store.RevokeTokenAsync("tok00003");
        var revokedTwice = await Store.RevokeTokenAsync("tok00003");
        var unknown = await Store.RevokeTokenAsync("nothere1");
        var beforeExpiry = await Store.ListTokensAsync("ana", Clock.GetUtcNow());
        var afterExpiry = await Store.ListTokensAsync("ana", Clock.GetUtcNow().AddHours(13));
        var session = await Store.GetApiTokenAsync("tok00002");

        Assert.Equal(Clock.GetUtcNow(), revokedAt);
        Assert.Null(revokedTwice);
        Assert.Null(unknown);
        Assert.Equal(["tok00001", "tok00002"], beforeExpiry.Select(t => t.Id).Order());
        Assert.Equal(["tok00001"], afterExpiry.Select(t => t.Id));
        Assert.Equal(("ana", TokenKinds.Session, Clock.GetUtcNow().AddHours(12)), (session!.Username, session.Kind, session.ExpiresAt));
        Assert.Equal(Clock.GetUtcNow(), (await Store.GetApiTokenAsync("tok00003"))!.RevokedAt);
    }

    [Fact]
    public async Task Bootstrap_creates_the_server_admin_and_its_token_only_on_an_empty_database()
    {
        var first = await Store.BootstrapAsync("admin", Token("boot0001", "admin"));
        var second = await Store.BootstrapAsync("admin", Token("boot0002", "admin"));

        Assert.True(first);
        Assert.False(second);
        var admin = await Store.GetUserAsync("admin");
        Assert.True(admin!.IsServerAdmin);
        Assert.Equal("admin", (await Store.GetApiTokenAsync("boot0001"))!.Username);
        Assert.Null(await Store.GetApiTokenAsync("boot0002"));
    }

    [Fact]
    public async Task Audit_rows_come_newest_first_in_pages_and_filter_by_project_projects_and_time()
    {
        for (var i = 0; i < 5; i++)
        {
            await Store.AppendAuditAsync(new AuditEntry("ana", "credential.set", i % 2 == 0 ? "p" : "q", $"c{i}", """{"fields":["a"]}""", null));
            Clock.Advance(TimeSpan.FromMinutes(1));
        }
        await Store.AppendAuditAsync(new AuditEntry("admin", "user.create", null, "ben", null, """{"serverAdmin":false}"""));

        var page1 = await Store.ListAuditAsync(new AuditQuery(Limit: 4));
        var page2 = await Store.ListAuditAsync(new AuditQuery(Limit: 4, After: page1.Next));
        var onlyP = await Store.ListAuditAsync(new AuditQuery(Project: "p"));
        var projects = await Store.ListAuditAsync(new AuditQuery(Projects: ["q"]));
        var none = await Store.ListAuditAsync(new AuditQuery(Projects: []));
        var recent = await Store.ListAuditAsync(new AuditQuery(Since: Clock.GetUtcNow().AddMinutes(-1)));

        Assert.Equal(["ben", "c4", "c3", "c2"], page1.Items.Select(a => a.Target));
        Assert.Equal(["c1", "c0"], page2.Items.Select(a => a.Target));
        Assert.Null(page2.Next);
        Assert.Equal(["c4", "c2", "c0"], onlyP.Items.Select(a => a.Target));
        Assert.Equal(["c3", "c1"], projects.Items.Select(a => a.Target));
        Assert.Empty(none.Items);
        Assert.Equal(["ben", "c4"], recent.Items.Select(a => a.Target));
        Assert.Equal("""{"fields":["a"]}""", page1.Items[1].BeforeJson);
        await Assert.ThrowsAsync<ArgumentException>(() => Store.ListAuditAsync(new AuditQuery(After: "x")));
        await Assert.ThrowsAsync<ArgumentException>(() => Store.ListAuditAsync(new AuditQuery(Limit: 0)));
    }

    [Fact]
    public async Task Work_orders_of_several_projects_page_newest_first_across_them_with_filters()
    {
        var inputs = Enumerable.Range(0, 30).Select(i => Order(project: new[] { "p", "q", "r" }[i % 3], workflow: i % 2 == 0 ? "even" : "odd", input: $$$"""{"data":{"i":{{{i}}}}}""")).ToList();
        var ids = await Store.EnqueueAsync(inputs);
        var expected = Enumerable.Range(0, 30).Reverse().Where(i => i % 3 != 1).Select(i => ids[i].WorkOrderId).ToList(); // p and r, newest first

        var seen = new List<Guid>();
        string? after = null;
        do
        {
            var page = await Store.ListWorkOrdersAsync(new WorkOrderQuery(Limit: 3, After: after) { Projects = ["r", "p", "r"] });
            seen.AddRange(page.Items.Select(w => w.Id));
            after = page.Next;
        }
        while (after is not null);
        Assert.Equal(expected, seen);

        var odd = await Store.ListWorkOrdersAsync(new WorkOrderQuery(Workflow: "odd", Limit: 4) { Projects = ["p", "r"] });
        var oddExpected = Enumerable.Range(0, 30).Reverse().Where(i => i % 3 != 1 && i % 2 == 1).Select(i => ids[i].WorkOrderId).Take(4);
        Assert.Equal(oddExpected, odd.Items.Select(w => w.Id));
        Assert.NotNull(odd.Next);
    }

    [Fact]
    public async Task Work_orders_can_be_limited_to_the_projects_a_caller_sees_and_dataclips_know_their_project()
    {
        var ids = await Store.EnqueueAsync([Order(project: "p"), Order(project: "q"), Order(project: "r")]);

        var visible = await Store.ListWorkOrdersAsync(new WorkOrderQuery() { Projects = ["p", "r"] });
        var nothing = await Store.ListWorkOrdersAsync(new WorkOrderQuery() { Projects = [] });
        var order = await Store.GetWorkOrderAsync(ids[1].WorkOrderId);

        Assert.Equal(["r", "p"], visible.Items.Select(w => w.Project));
        Assert.Empty(nothing.Items);
        Assert.Equal("q", await Store.GetDataclipProjectAsync(order!.InputDataclipId));
        Assert.Null(await Store.GetDataclipProjectAsync(Guid.NewGuid()));
    }

    /// <summary>
    /// A change and its audit entry are one transaction: both are stored, or (when the entry cannot be written) neither,
    /// and a call that changes nothing writes no entry.
    /// </summary>
    [Fact]
    public async Task A_change_and_its_audit_entry_are_stored_together_or_not_at_all()
    {
        static AuditEntry Broken(string action) => new(" ", action, "p", "x"); // no actor: refused inside the transaction
        var ids = (await Store.EnqueueAsync([Order()]))[0];

        await Store.CreateUserAsync("ana", null, false, u => new AuditEntry("admin", "user.create", null, u.Username, null, """{"serverAdmin":false}"""));
        await Assert.ThrowsAsync<ArgumentException>(() => Store.CreateUserAsync("ben", null, false, _ => Broken("user.create")));
        await Assert.ThrowsAsync<ArgumentException>(() => Store.UpdateUserAsync("ana", new UserChange(Disabled: true), _ => Broken("user.update")));
        await Assert.ThrowsAsync<ArgumentException>(() => Store.SetMemberAsync("p", "ana", "owner", _ => Broken("member.set")));
        await Assert.ThrowsAsync<ArgumentException>(() => Store.SaveVersionAsync("p", "{}", "h1", "ana", _ => Broken("version.deploy")));
        await Assert.ThrowsAsync<ArgumentException>(() => Store.SaveCredentialAsync("p", "dhis2", "http", "envelope", Broken("credential.set")));
        await Assert.ThrowsAsync<ArgumentException>(() => Store.SaveTokenAsync(Token("t1", "ana"), _ => Broken("token.create")));
        await Assert.ThrowsAsync<ArgumentException>(() => Store.CancelAsync(ids.RunId, Broken("run.cancel")));

        Assert.Null(await Store.GetUserAsync("ben"));
        Assert.False((await Store.GetUserAsync("ana"))!.Disabled);
        Assert.Empty(await Store.ListMembersAsync("p"));
        Assert.Null(await Store.GetVersionAsync("p"));
        Assert.Empty(await Store.ListCredentialsAsync("p"));
        Assert.Null(await Store.GetApiTokenAsync("t1"));
        Assert.Equal(RunStatus.Available, (await Store.GetRunAsync(ids.RunId))!.Status);

        await Store.SetMemberAsync("p", "ana", "editor", before => new AuditEntry("admin", "member.set", "p", "ana", before, """{"role":"editor"}"""));
        Assert.Null(await Store.RemoveMemberAsync("p", "nobody", _ => new AuditEntry("admin", "member.remove", "p", "nobody")));
        Assert.False(await Store.DeleteCredentialAsync("p", "none", new AuditEntry("admin", "credential.delete", "p", "none")));
        Assert.Null(await Store.RevokeTokenAsync("unknown", new AuditEntry("admin", "token.revoke", null, "unknown")));
        Assert.True(await Store.CancelAsync(ids.RunId, new AuditEntry("admin", "run.cancel", "p", ids.RunId.ToString())));
        Assert.False(await Store.CancelAsync(ids.RunId, new AuditEntry("admin", "run.cancel", "p", ids.RunId.ToString())));

        var log = (await Store.ListAuditAsync(new AuditQuery())).Items;
        Assert.Equal(["run.cancel", "member.set", "user.create"], log.Select(a => a.Action));
        Assert.Equal("editor", Assert.Single(await Store.ListMembersAsync("p")).Role);
    }
}
