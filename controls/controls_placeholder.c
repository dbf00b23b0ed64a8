/* Placeholder so the library target has a source until the part lands. */
int auditd_controls_placeholder(void);
int auditd_controls_placeholder(void) { return 0; }
