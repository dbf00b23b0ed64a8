# bench_witness: cosign latency (in process and over HTTP) next to a durable
# SQLite update and GET /healthz, and ingestion with and without the witness
# submitter (live witness, witness down), same run.
add_executable(bench_witness ${CMAKE_CURRENT_SOURCE_DIR}/bench_witness.c)
target_link_libraries(bench_witness PRIVATE auditd_server auditd_core PkgConfig::CURL
  PkgConfig::SQLITE3 PkgConfig::SODIUM Threads::Threads)
target_compile_definitions(bench_witness PRIVATE AUDITD_BIN="$<TARGET_FILE:auditd>")
add_dependencies(bench_witness auditd)
