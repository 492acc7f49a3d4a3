// Step code is C#: `state` is the JSON state, `log` the step log. See docs/job-api.md.
log.Info($"{state.data.Length} records mapped, {(state.rejected?.Length ?? 0)} rejected.");
state.summary = new { mapped = state.data.Length, rejected = state.rejected?.Length ?? 0 };
