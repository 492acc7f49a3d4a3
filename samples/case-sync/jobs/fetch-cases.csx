// Read the cases changed since the last successful run (the cursor), following "next" links page by page.
var since = cursor.Value ?? "2000-01-01T00:00:00Z";
var cases = await http.GetAll("/api/cases", new { query = new { updatedSince = since }, items = "results", next = "next" });
log.Info($"Fetched {cases.Length} cases changed since {since}.");
state.data = cases;
cursor.Set(DateTime.UtcNow);
