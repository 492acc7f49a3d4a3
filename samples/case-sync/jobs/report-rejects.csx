// Records the mapping rejected are never dropped: list them so someone fixes them at the source.
foreach (var r in state.rejected)
    log.Warn($"Case record {r.index} rejected by rule '{r.rule}' on {r.field}: {r.message}");
state.rejectedCount = state.rejected.Length;
