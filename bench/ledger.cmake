# bench_ledger: append throughput (ledger_append and commitq) vs plain SQLite
# inserts, verify vs SHA-256, inclusion-proof latency, peak RSS.
add_executable(bench_ledger ${CMAKE_CURRENT_SOURCE_DIR}/bench_ledger.c)
target_link_libraries(bench_ledger PRIVATE auditd_core PkgConfig::SQLITE3 PkgConfig::SODIUM
  Threads::Threads)
# Not a timed test: only checks that the benchmark runs end to end.
add_test(NAME bench_ledger_smoke COMMAND bench_ledger 20000)
set_tests_properties(bench_ledger_smoke PROPERTIES TIMEOUT 300)
