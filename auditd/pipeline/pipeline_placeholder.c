/* Placeholder so the library target has a source until the part lands. */
int auditd_pipeline_placeholder(void);
int auditd_pipeline_placeholder(void) { return 0; }
