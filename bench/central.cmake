# bench_central: mirroring throughput per site stream next to the site's own
# append rate, 20 sites mirrored at once, the mirror's RSS as entries accumulate.
# Starts its own temporary PostgreSQL cluster (scripts/pgtmp.sh).
add_executable(bench_central ${CMAKE_CURRENT_SOURCE_DIR}/bench_central.c)
target_link_libraries(bench_central PRIVATE auditd_core PkgConfig::SODIUM Threads::Threads)
target_compile_definitions(bench_central PRIVATE AUDITD_BIN="$<TARGET_FILE:auditd>"
  AUDITD_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
add_dependencies(bench_central auditd)
