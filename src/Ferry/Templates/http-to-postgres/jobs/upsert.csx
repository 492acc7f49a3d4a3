var result = await postgres.UpsertMany("records", new[] { "id" }, state.data);
log.Info($"{result.inserted} inserted, {result.updated} updated.");
