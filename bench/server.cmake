# bench_http: signed batches over loopback to a real `auditd serve` (started by
# the benchmark) next to the in-process commitq_submit rate, same run.
add_executable(bench_http ${CMAKE_CURRENT_SOURCE_DIR}/bench_http.c)
target_link_libraries(bench_http PRIVATE auditd_server auditd_core PkgConfig::CURL
  PkgConfig::SODIUM Threads::Threads)
target_compile_definitions(bench_http PRIVATE AUDITD_BIN="$<TARGET_FILE:auditd>")
add_dependencies(bench_http auditd)
