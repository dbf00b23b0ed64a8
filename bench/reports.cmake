# Quarterly report over N events and M readings next to the bare read of the same data.
#   bench_report [EVENTS [READINGS]]   (defaults 300000 and 200000)
add_executable(bench_report ${CMAKE_CURRENT_SOURCE_DIR}/bench_report.c)
target_link_libraries(bench_report PRIVATE auditd_reports auditd_controls auditd_policies
  auditd_pipeline auditd_core PkgConfig::SQLITE3)
