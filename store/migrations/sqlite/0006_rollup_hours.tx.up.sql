-- Hourly cells in the rollups (format version 2 of usestats_rollup_days'
-- data, store/daycodec.go): every day now also holds the user's time per
-- UTC hour and course, for hourly series, weekday × hour heat maps and
-- series in any time zone. Rollups compiled before hold no hours, and a
-- partly recompiled user would mix days with and without them, so every
-- compiled rollup and every compile state is dropped here: the next
-- compile (serve's background compile, or `usestats compile`) starts a
-- fresh one of each policy it compiles, and until it completes answers
-- come from the log (source LIVE), exact as always. Forgotten users lose
-- their mark as a fresh compile's users always do; users deleted in the
-- site are left out again by that compile.
--
-- Key ids are AUTOINCREMENT, so none is ever reused. Re-runnable: on an
-- empty store it does nothing.
DELETE FROM usestats_rollup_days;
DELETE FROM usestats_session_ends;
DELETE FROM usestats_compile_users;
DELETE FROM usestats_compile_shards;
DELETE FROM usestats_compile_keys;
