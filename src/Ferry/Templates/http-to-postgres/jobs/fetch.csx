// Everything changed since the last successful run (the cursor), following "next" links.
var since = cursor.Value ?? "2000-01-01T00:00:00Z";
state.data = await http.GetAll("/records", new { query = new { updatedSince = since }, items = "results", next = "next" });
cursor.Set(DateTime.UtcNow);
