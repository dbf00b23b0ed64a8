/* Placeholder so the library target has a source until the part lands. */
int auditd_policies_placeholder(void);
int auditd_policies_placeholder(void) { return 0; }
