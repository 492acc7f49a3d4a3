// Upsert the mapped cases into the HMIS table by case_id, 1,000 rows per round trip.
var result = await postgres.UpsertMany("hmis_cases", new[] { "case_id" }, state.data);
log.Info($"Upserted {result.rowCount} cases ({result.inserted ?? "?"} new, {result.updated ?? "?"} updated).");
state.upserted = result.rowCount;
