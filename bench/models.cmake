# bench_models: ingestion with and without the deployed model scoring (models helper).
add_executable(bench_models ${CMAKE_CURRENT_SOURCE_DIR}/bench_models.c)
target_include_directories(bench_models PRIVATE ${CMAKE_SOURCE_DIR}/tests/models)
target_link_libraries(bench_models PRIVATE auditd_pipeline auditd_core)
