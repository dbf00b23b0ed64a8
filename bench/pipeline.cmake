# Telemetry ingestion throughput (validated + stored) next to plain SQLite inserts.
add_executable(bench_pipeline ${CMAKE_CURRENT_SOURCE_DIR}/bench_pipeline.c)
target_link_libraries(bench_pipeline PRIVATE auditd_pipeline auditd_core PkgConfig::SQLITE3)
