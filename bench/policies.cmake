# bench_policies: RACI evaluation throughput and control-store lookups.
add_executable(bench_policies ${CMAKE_CURRENT_SOURCE_DIR}/bench_policies.c)
target_link_libraries(bench_policies PRIVATE auditd_controls auditd_policies auditd_core
  PkgConfig::CJSON)
target_compile_definitions(bench_policies PRIVATE AUDITD_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
