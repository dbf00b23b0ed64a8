# bench_enterprise: the enterprise report over 20 sites x one quarter from their
# rollups, next to a bare read of the same data. Starts its own temporary
# PostgreSQL cluster (scripts/pgtmp.sh).
add_executable(bench_enterprise ${CMAKE_CURRENT_SOURCE_DIR}/bench_enterprise.c)
target_link_libraries(bench_enterprise PRIVATE auditd_central auditd_reports auditd_core
  PkgConfig::SODIUM)
target_compile_definitions(bench_enterprise PRIVATE AUDITD_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
