<?xml version="1.0" encoding="UTF-8"?>
<!-- report-html.xsl: the steering-committee report, from auditd's report
     document (root <report>, see docs/reports.md). Self-contained: inline CSS
     and SVG, no scripts, no external assets; prints on A4/Letter.
     Swap it with `auditd report` and its template option. -->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:output method="html" encoding="UTF-8" indent="no" doctype-system="about:legacy-compat"/>

  <xsl:variable name="nweeks" select="count(/report/weeks/week)"/>

  <xsl:template match="/report">
    <html lang="en">
      <head>
        <meta charset="utf-8"/>
        <meta name="viewport" content="width=device-width, initial-scale=1"/>
        <title><xsl:value-of select="@title"/> — <xsl:value-of select="@period"/></title>
        <style>
          :root { --ink:#1d2733; --muted:#5b6775; --line:#d9dee4; --bg:#f5f7f9; --ok:#1e8a4c; --bad:#c0392b; --warn:#c77c02; --na:#8a949e; --accent:#1f5fa8; }
          * { box-sizing: border-box; }
          body { margin:0; font: 14px/1.45 "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color:var(--ink); background:var(--bg); }
          main { max-width: 1120px; margin: 0 auto; padding: 28px 32px 48px; background:#fff; }
          header.top { border-bottom: 3px solid var(--accent); padding-bottom: 14px; margin-bottom: 20px; }
          header.top h1 { margin: 0 0 4px; font-size: 24px; }
          header.top .sub { color: var(--muted); }
          h2 { font-size: 18px; margin: 30px 0 10px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
          h3 { font-size: 15px; margin: 18px 0 8px; }
          .muted { color: var(--muted); }
          .small { font-size: 12px; }
          .summary-line { font-size: 15px; margin: 8px 0 16px; }
          .cards { display: grid; grid-template-columns: repeat(3, 1fr); gap: 12px; }
          .card { border: 1px solid var(--line); border-radius: 6px; padding: 12px 14px; page-break-inside: avoid; }
          .card .name { font-size: 12px; color: var(--muted); text-transform: uppercase; letter-spacing: .03em; min-height: 32px; }
          .card .big { font-size: 28px; font-weight: 600; margin: 2px 0; }
          .card .big .unit { font-size: 14px; font-weight: 400; color: var(--muted); margin-left: 3px; }
          .card .cmp { font-size: 12px; color: var(--muted); }
          .pill { display:inline-block; padding: 1px 8px; border-radius: 10px; font-size: 11px; font-weight: 600; color:#fff; white-space: nowrap; }
          .met { background: var(--ok); } .missed { background: var(--bad); } .na { background: var(--na); } .no-target { background: var(--accent); }
          .sev-critical { background:#7b1020; } .sev-high { background: var(--bad); } .sev-medium { background: var(--warn); } .sev-low { background: var(--na); }
          .better { color: var(--ok); } .worse { color: var(--bad); } .flat { color: var(--muted); }
          table { width: 100%; border-collapse: collapse; margin: 6px 0 10px; }
          th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
          th { font-size: 12px; color: var(--muted); font-weight: 600; background: var(--bg); }
          td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
          tr { page-break-inside: avoid; }
          .charts { display: grid; grid-template-columns: repeat(2, 1fr); gap: 14px; }
          .chart { border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px; page-break-inside: avoid; }
          .chart .t { font-weight: 600; font-size: 13px; }
          .fw { display: grid; grid-template-columns: 260px 1fr 220px; gap: 10px; align-items: center; margin: 6px 0; }
          .integrity { border-left: 4px solid var(--ok); background: #f3faf5; padding: 10px 14px; }
          .integrity.bad { border-left-color: var(--bad); background: #fdf2f1; }
          pre.note { background: var(--bg); padding: 8px 10px; font-size: 12px; overflow-x: auto; white-space: pre-wrap; word-break: break-all; }
          .signoff { display: grid; grid-template-columns: repeat(2, 1fr); gap: 18px 28px; margin-top: 12px; }
          .sig { border-top: 1px solid var(--ink); padding-top: 4px; margin-top: 38px; font-size: 12px; }
          .defs td { font-size: 12px; }
          footer { margin-top: 30px; font-size: 11px; color: var(--muted); border-top: 1px solid var(--line); padding-top: 8px; }
          @media print {
            body { background: #fff; font-size: 11px; }
            main { max-width: none; padding: 0; }
            h2 { page-break-after: avoid; }
            section { page-break-inside: auto; }
            .cards { grid-template-columns: repeat(3, 1fr); }
            .pagebreak { page-break-before: always; }
            @page { size: A4; margin: 14mm 12mm; }
          }
        </style>
      </head>
      <body>
        <main>
          <header class="top">
            <h1><xsl:value-of select="@title"/></h1>
            <div class="sub">
              Period <strong><xsl:value-of select="@period"/></strong>
              (<xsl:value-of select="@from"/> to <xsl:value-of select="@to"/>, UTC) ·
              compared with <xsl:value-of select="@previous-period"/> ·
              data as of <xsl:value-of select="@as-of"/> ·
              ledger <xsl:value-of select="@origin"/>
            </div>
          </header>

          <section id="summary">
            <h2>1. Executive summary</h2>
            <p class="summary-line">
              <strong><xsl:value-of select="kpis/@met"/></strong> of
              <xsl:value-of select="count(kpis/kpi[@status='met' or @status='missed'])"/> KPIs with a target are on target;
              <strong><xsl:value-of select="kpis/@missed"/></strong> missed;
              <xsl:value-of select="kpis/@not-available"/> not available for lack of data.
              <xsl:value-of select="findings/@total"/> open findings
              (<xsl:value-of select="findings/@critical"/> critical, <xsl:value-of select="findings/@high"/> high),
              <xsl:value-of select="incidents/@opened"/> incidents opened in the period.
              Ledger integrity: <strong><xsl:value-of select="integrity/@signature"/></strong>.
            </p>
            <div class="cards">
              <xsl:for-each select="kpis/kpi[@headline='true']">
                <xsl:call-template name="card"/>
              </xsl:for-each>
            </div>

            <h3>All KPIs against target and <xsl:value-of select="@previous-period"/></h3>
            <table>
              <thead><tr>
                <th>KPI</th><th class="num">Value</th><th class="num">Target</th>
                <th class="num">Previous</th><th class="num">Change</th><th>Status</th>
                <th>Weekly trend</th>
              </tr></thead>
              <tbody>
                <xsl:for-each select="kpis/kpi">
                  <tr>
                    <td><xsl:value-of select="name"/><xsl:if test="@format != 'count'"> <span class="muted small"> (<xsl:value-of select="@unit"/>)</span></xsl:if></td>
                    <td class="num"><strong><xsl:value-of select="@display"/></strong></td>
                    <td class="num"><xsl:value-of select="@target"/></td>
                    <td class="num"><xsl:choose><xsl:when test="@previous"><xsl:value-of select="@previous"/></xsl:when><xsl:otherwise><span class="muted">–</span></xsl:otherwise></xsl:choose></td>
                    <td class="num"><span class="{@trend-direction}"><xsl:value-of select="@delta"/></span></td>
                    <td><xsl:call-template name="status-pill"/>
                      <xsl:if test="@why"><div class="muted small"><xsl:value-of select="@why"/></div></xsl:if>
                    </td>
                    <td><xsl:call-template name="spark"/></td>
                  </tr>
                </xsl:for-each>
              </tbody>
            </table>
          </section>

          <section id="trends">
            <h2>2. Trends over the period, per week</h2>
            <xsl:choose>
              <xsl:when test="kpis/kpi[trend/@points &gt;= 2]">
                <div class="charts">
                  <xsl:for-each select="kpis/kpi[trend/@points &gt;= 2 and (@group='production' or @group='quality' or @group='energy' or @group='model')]">
                    <xsl:call-template name="trend-chart"/>
                  </xsl:for-each>
                </div>
              </xsl:when>
              <xsl:otherwise><p class="muted">Not enough weekly data for trend charts.</p></xsl:otherwise>
            </xsl:choose>
          </section>

          <section id="compliance">
            <h2>3. Compliance posture</h2>
            <xsl:choose>
              <xsl:when test="compliance/@available='true'">
                <xsl:for-each select="compliance/framework">
                  <div class="fw">
                    <div><strong><xsl:value-of select="@name"/></strong><br/>
                      <span class="muted small"><xsl:value-of select="@in-scope"/> controls in scope</span></div>
                    <div><xsl:call-template name="stack"/></div>
                    <div class="small">
                      <span class="pill met"><xsl:value-of select="@satisfied"/> satisfied</span>
                      <xsl:text> </xsl:text><span class="pill missed"><xsl:value-of select="@not-satisfied"/> not satisfied</span>
                      <xsl:text> </xsl:text><span class="pill na"><xsl:value-of select="@not-evaluated"/> no evidence</span>
                    </div>
                  </div>
                </xsl:for-each>
              </xsl:when>
              <xsl:otherwise>
                <p class="muted">Control evaluation not available: <xsl:value-of select="compliance/@problem"/></p>
              </xsl:otherwise>
            </xsl:choose>
            <h3>Open findings by severity</h3>
            <xsl:call-template name="sev-bars"/>
          </section>

          <section id="findings">
            <h2>4. Top findings and their owners</h2>
            <xsl:choose>
              <xsl:when test="findings/finding">
                <table>
                  <thead><tr><th>Severity</th><th>Control</th><th>Finding</th><th>Owner (RACI)</th></tr></thead>
                  <tbody>
                    <xsl:for-each select="findings/finding">
                      <tr>
                        <td><span class="pill sev-{@severity}"><xsl:value-of select="@severity"/></span></td>
                        <td><xsl:value-of select="@control"/><div class="muted small"><xsl:value-of select="@framework"/></div></td>
                        <td><xsl:value-of select="."/><div class="muted small">rule <xsl:value-of select="@rule"/>
                          <xsl:if test="@occurrences &gt; 1"> · <strong><xsl:value-of select="@occurrences"/> occurrences</strong> in the period (the first is shown)</xsl:if></div></td>
                        <td><xsl:value-of select="@owner"/></td>
                      </tr>
                    </xsl:for-each>
                  </tbody>
                </table>
                <xsl:if test="findings/@total &gt; count(findings/finding)">
                  <p class="muted small">One row per rule: <xsl:value-of select="count(findings/finding)"/> rules account for the <xsl:value-of select="findings/@total"/> open findings; the OSCAL assessment results list every finding per control.</p>
                </xsl:if>
              </xsl:when>
              <xsl:otherwise><p>No open findings.</p></xsl:otherwise>
            </xsl:choose>
          </section>

          <section id="incidents">
            <h2>5. Incidents</h2>
            <p>
              <strong><xsl:value-of select="incidents/@opened"/></strong> opened,
              <xsl:value-of select="incidents/@unresolved"/> unresolved at period end;
              SLA met for <xsl:value-of select="incidents/@sla-met"/>, missed for <xsl:value-of select="incidents/@sla-missed"/>
              <span class="muted small">
                <xsl:choose>
                  <xsl:when test="incidents/@raci-policy != ''"> (SLAs from RACI policy <xsl:value-of select="incidents/@raci-name"/> version <xsl:value-of select="incidents/@raci-policy"/>)</xsl:when>
                  <xsl:otherwise> (SLAs from the KPI definitions: no RACI policy loaded)</xsl:otherwise>
                </xsl:choose>
              </span>.
            </p>
            <xsl:if test="incidents/incident">
              <table>
                <thead><tr><th>Incident</th><th>Severity</th><th>Opened</th><th class="num">Ack (min)</th><th class="num">Resolve (min)</th><th>SLA</th><th>Accountable</th></tr></thead>
                <tbody>
                  <xsl:for-each select="incidents/incident">
                    <tr>
                      <td><xsl:value-of select="@id"/><div class="muted small"><xsl:value-of select="."/></div></td>
                      <td><span class="pill sev-{@severity}"><xsl:value-of select="@severity"/></span></td>
                      <td class="small"><xsl:value-of select="@opened"/></td>
                      <td class="num"><xsl:value-of select="@ack-min"/></td>
                      <td class="num"><xsl:value-of select="@resolve-min"/></td>
                      <td><span class="pill {@sla}"><xsl:value-of select="@sla"/></span></td>
                      <td><xsl:value-of select="@owner"/></td>
                    </tr>
                  </xsl:for-each>
                </tbody>
              </table>
            </xsl:if>
          </section>

          <section id="models">
            <h2>6. Model inventory</h2>
            <xsl:choose>
              <xsl:when test="models/model">
                <table>
                  <thead><tr><th>Model</th><th>Version</th><th>Deployed</th><th>Deployed by</th><th>Approved by</th><th class="num">Precision</th><th class="num">Recall</th><th class="num">Predictions</th></tr></thead>
                  <tbody>
                    <xsl:for-each select="models/model">
                      <tr>
                        <td><xsl:value-of select="@name"/>
                          <xsl:if test="@in-force='true'"> <span class="pill met">in force</span></xsl:if>
                          <xsl:if test="@after-period='true'"> <span class="pill no-target">after the period</span></xsl:if></td>
                        <td><xsl:value-of select="@version"/></td>
                        <td class="small"><xsl:value-of select="@deployed"/></td>
                        <td><xsl:value-of select="@deployed-by"/></td>
                        <td><xsl:value-of select="@approved-by"/><div class="muted small">change <xsl:value-of select="@change-id"/></div></td>
                        <td class="num"><xsl:if test="@precision"><xsl:value-of select="@precision"/> %</xsl:if></td>
                        <td class="num"><xsl:if test="@recall"><xsl:value-of select="@recall"/> %</xsl:if></td>
                        <td class="num"><xsl:value-of select="@predictions"/></td>
                      </tr>
                    </xsl:for-each>
                  </tbody>
                </table>
                <p class="muted small">The inventory is as of the report's date. Precision and recall in the table are the held-out test figures recorded at registration; below, the model in force is measured on this period's labelled readings.</p>
              </xsl:when>
              <xsl:otherwise><p class="muted">No model was deployed in or before the period.</p></xsl:otherwise>
            </xsl:choose>
            <h3>Measured in production this period</h3>
            <xsl:choose>
              <xsl:when test="models/live/@available='true'">
                <p class="small"><xsl:value-of select="models/live/@model"/> scored on every labelled reading of the period<xsl:if test="models/live/@excluded-from">,
                  leaving out the readings it was trained on (<xsl:value-of select="models/live/@excluded-from"/> to <xsl:value-of select="models/live/@excluded-to"/>)</xsl:if>; counts are readings.</p>
                <table style="width:auto">
                  <thead><tr><th></th><th class="num">Reading with failure</th><th class="num">Without failure</th></tr></thead>
                  <tbody>
                    <tr><th>Alarm</th><td class="num"><xsl:value-of select="models/live/@tp"/></td><td class="num"><xsl:value-of select="models/live/@fp"/></td></tr>
                    <tr><th>No alarm</th><td class="num"><xsl:value-of select="models/live/@fn"/></td><td class="num"><xsl:value-of select="models/live/@tn"/></td></tr>
                  </tbody>
                </table>
                <p class="small">Detection rate <strong><xsl:value-of select="kpis/kpi[@id='defect_detection_rate']/@display"/> %</strong>,
                  precision <strong><xsl:value-of select="kpis/kpi[@id='model_precision']/@display"/> %</strong>,
                  false-alarm rate <strong><xsl:value-of select="kpis/kpi[@id='false_alarm_rate']/@display"/> %</strong>.</p>
              </xsl:when>
              <xsl:otherwise><p class="muted">Not available: <xsl:value-of select="models/live/@why"/>.</p></xsl:otherwise>
            </xsl:choose>
          </section>

          <section id="data">
            <h2>7. Data quality and drift</h2>
            <p>
              <xsl:choose>
                <xsl:when test="data-quality/@available='true'">
                  <strong><xsl:value-of select="data-quality/@submitted"/></strong> readings submitted,
                  <strong><xsl:value-of select="data-quality/@rejected"/></strong> quarantined or rejected
                  (<xsl:value-of select="kpis/kpi[@id='telemetry_rejection_rate']/@display"/> %).
                </xsl:when>
                <xsl:otherwise><span class="muted">No telemetry batches were recorded in the period.</span></xsl:otherwise>
              </xsl:choose>
            </p>
            <xsl:if test="data-quality/reason">
              <table style="width:auto">
                <thead><tr><th>Rejection reason</th><th class="num">Readings</th></tr></thead>
                <tbody>
                  <xsl:for-each select="data-quality/reason">
                    <xsl:sort select="@count" data-type="number" order="descending"/>
                    <tr><td><xsl:value-of select="@name"/></td><td class="num"><xsl:value-of select="@count"/></td></tr>
                  </xsl:for-each>
                </tbody>
              </table>
            </xsl:if>
            <h3>Drift events: <xsl:value-of select="drift/@count"/>
              <span class="muted small"> (previous period: <xsl:value-of select="drift/@previous"/>)</span></h3>
            <xsl:if test="drift/event">
              <table>
                <thead><tr><th>Time</th><th>Model</th><th>Feature or alert</th><th class="num">PSI</th><th class="num">KS</th><th class="num">Threshold</th><th class="num">Ledger entry</th></tr></thead>
                <tbody>
                  <xsl:for-each select="drift/event[position() &lt;= 30]">
                    <tr>
                      <td class="small"><xsl:value-of select="@time"/></td>
                      <td><xsl:value-of select="@model"/></td>
                      <td><xsl:value-of select="@feature"/></td>
                      <td class="num"><xsl:value-of select="@psi"/></td>
                      <td class="num"><xsl:value-of select="@ks"/></td>
                      <td class="num"><xsl:value-of select="@threshold"/></td>
                      <td class="num"><xsl:value-of select="@ledger-index"/></td>
                    </tr>
                  </xsl:for-each>
                </tbody>
              </table>
            </xsl:if>
          </section>

          <section id="integrity">
            <h2>8. Ledger integrity statement</h2>
            <xsl:variable name="bad" select="integrity/@signature != 'verified' or integrity/previous/@consistency = 'failed'"/>
            <div>
              <xsl:attribute name="class">integrity<xsl:if test="$bad"> bad</xsl:if></xsl:attribute>
              <p>This report was computed from the first <strong><xsl:value-of select="integrity/@tree-size"/></strong> entries
                of ledger <strong><xsl:value-of select="@origin"/></strong>, whose Merkle tree root is
                <code><xsl:value-of select="integrity/@root"/></code>.
                The signed checkpoint for that tree was <strong><xsl:value-of select="integrity/@signature"/></strong>
                with the ledger's public key.</p>
              <xsl:choose>
                <xsl:when test="integrity/witness">
                  <p>Independent witnesses cosigned that checkpoint, each stating that at the time shown it was the largest tree of this ledger the witness had seen, consistent with every earlier one it had seen:
                    <xsl:for-each select="integrity/witness"><xsl:if test="position() &gt; 1">, </xsl:if><strong><xsl:value-of select="@name"/></strong> (<xsl:value-of select="@time"/>)</xsl:for-each>.
                    Anyone holding a witness's key can check it with <code>auditd verify --trusted-checkpoint</code>.</p>
                </xsl:when>
                <xsl:otherwise><p>No witness cosignature is stored for that checkpoint (see <code>auditd serve --witness</code>).</p></xsl:otherwise>
              </xsl:choose>
              <xsl:choose>
                <xsl:when test="integrity/previous/@present='true'">
                  <p>The previous report (<xsl:value-of select="integrity/previous/@period"/>, <xsl:value-of select="integrity/previous/@format"/>,
                    ledger entry <xsl:value-of select="integrity/previous/@ledger-index"/>) was computed at tree size
                    <xsl:value-of select="integrity/previous/@tree-size"/>. The RFC 6962 consistency proof from that tree to this one was
                    <strong><xsl:value-of select="integrity/previous/@consistency"/></strong>:
                    <xsl:choose>
                      <xsl:when test="integrity/previous/@consistency='proven'">no entry the previous report relied on has been changed or removed since.</xsl:when>
                      <xsl:otherwise><xsl:value-of select="integrity/previous/@problem"/></xsl:otherwise>
                    </xsl:choose></p>
                </xsl:when>
                <xsl:otherwise><p>No earlier report was issued from this ledger; this report starts the chain of consistency proofs.</p></xsl:otherwise>
              </xsl:choose>
              <p class="small">Issuing this report appends a <code>report.issued</code> entry with the SHA-256 of this document,
                so anyone can later show which report the committee saw and re-check it against the ledger.</p>
            </div>
            <pre class="note"><xsl:value-of select="integrity/checkpoint"/></pre>
            <p class="muted small">Verifier key: <code><xsl:value-of select="integrity/@key"/></code></p>
          </section>

          <section id="definitions" class="pagebreak">
            <h2>9. KPI definitions</h2>
            <table class="defs">
              <thead><tr><th>KPI</th><th>Formula</th><th>Moved by</th><th>Why it matters</th><th>Source</th></tr></thead>
              <tbody>
                <xsl:for-each select="kpis/kpi">
                  <tr>
                    <td><strong><xsl:value-of select="name"/></strong>
                      <div class="muted small"><xsl:value-of select="@direction"/> is better<xsl:if test="@baseline">; baseline <xsl:value-of select="@baseline"/></xsl:if></div></td>
                    <td><xsl:value-of select="formula"/></td>
                    <td>
                      <xsl:for-each select="anchor">
                        <div><span class="muted small"><xsl:value-of select="@kind"/>: </span><xsl:value-of select="."/></div>
                      </xsl:for-each>
                    </td>
                    <td><xsl:value-of select="impact"/></td>
                    <td class="small"><xsl:value-of select="source"/></td>
                  </tr>
                </xsl:for-each>
              </tbody>
            </table>
          </section>

          <section id="signoff">
            <h2>10. Sign-off</h2>
            <p class="small">The undersigned have reviewed this report for <xsl:value-of select="@period"/>.</p>
            <div class="signoff">
              <xsl:for-each select="signoff/role">
                <div><div class="sig"><xsl:value-of select="."/> — name, signature, date</div></div>
              </xsl:for-each>
            </div>
          </section>
          <footer>
            Generated by auditd from ledger <xsl:value-of select="@origin"/> at tree size <xsl:value-of select="integrity/@tree-size"/>;
            KPI definitions <xsl:value-of select="@kpi-definitions"/>. Reproducible: the same checkpoint and definitions give the same document.
          </footer>
        </main>
      </body>
    </html>
  </xsl:template>

  <xsl:template name="status-pill">
    <xsl:choose>
      <xsl:when test="@status='met'"><span class="pill met">on target</span></xsl:when>
      <xsl:when test="@status='missed'"><span class="pill missed">off target</span></xsl:when>
      <xsl:when test="@status='no-target'"><span class="pill no-target">tracked</span></xsl:when>
      <xsl:otherwise><span class="pill na">n/a</span></xsl:otherwise>
    </xsl:choose>
  </xsl:template>

  <xsl:template name="card">
    <div class="card">
      <div class="name"><xsl:value-of select="name"/></div>
      <div class="big"><xsl:value-of select="@display"/><span class="unit"><xsl:if test="@available='true' and @format != 'count'"><xsl:value-of select="@unit"/></xsl:if></span></div>
      <xsl:call-template name="bullet"/>
      <div class="cmp">
        <xsl:call-template name="status-pill"/>
        <xsl:if test="@target"> target <xsl:value-of select="@target"/></xsl:if>
        <xsl:if test="@previous"> · prev <xsl:value-of select="@previous"/>
          <xsl:if test="@delta"> (<span class="{@trend-direction}"><xsl:value-of select="@delta"/></span>)</xsl:if></xsl:if>
        <xsl:if test="@why"><div><xsl:value-of select="@why"/></div></xsl:if>
      </div>
    </div>
  </xsl:template>

  <!-- Bullet chart: bar = value, dark tick = target, grey tick = previous period. -->
  <xsl:template name="bullet">
    <xsl:variable name="w" select="300"/>
    <xsl:variable name="max" select="@bullet-max"/>
    <svg width="100%" height="22" viewBox="0 0 300 22" preserveAspectRatio="none" role="img">
      <rect x="0" y="5" width="{$w}" height="12" fill="#e8ecf0"></rect>
      <xsl:if test="@display-value">
        <xsl:variable name="v" select="@display-value"/>
        <xsl:variable name="vw">
          <xsl:choose>
            <xsl:when test="$v &lt; 0">0</xsl:when>
            <xsl:when test="$v &gt; $max"><xsl:value-of select="$w"/></xsl:when>
            <xsl:otherwise><xsl:value-of select="$v div $max * $w"/></xsl:otherwise>
          </xsl:choose>
        </xsl:variable>
        <rect x="0" y="8" width="{$vw}" height="6">
          <xsl:attribute name="fill">
            <xsl:choose><xsl:when test="@status='missed'">#c0392b</xsl:when><xsl:when test="@status='met'">#1e8a4c</xsl:when><xsl:otherwise>#1f5fa8</xsl:otherwise></xsl:choose>
          </xsl:attribute>
        </rect>
      </xsl:if>
      <xsl:if test="@previous-value and @previous-value &lt;= $max and @previous-value &gt;= 0">
        <rect x="{@previous-value div $max * $w - 1}" y="3" width="2" height="16" fill="#9aa5b1"></rect>
      </xsl:if>
      <xsl:if test="@target-value and @target-value &lt;= $max and @target-value &gt;= 0">
        <rect x="{@target-value div $max * $w - 1.5}" y="1" width="3" height="20" fill="#1d2733"></rect>
      </xsl:if>
    </svg>
  </xsl:template>

  <!-- Weekly sparkline, 140 x 30. -->
  <xsl:template name="spark">
    <xsl:variable name="t" select="trend"/>
    <xsl:if test="$t/@points &gt;= 2 and $nweeks &gt; 1">
      <xsl:variable name="min" select="$t/@min"/>
      <xsl:variable name="range" select="$t/@max - $t/@min"/>
      <svg width="140" height="30" viewBox="0 0 140 30" role="img">
        <polyline fill="none" stroke="#1f5fa8" stroke-width="1.5">
          <xsl:attribute name="points">
            <xsl:for-each select="$t/point[@available='true']">
              <xsl:value-of select="format-number(3 + (@week - 1) * 134 div ($nweeks - 1), '0.0')"/>,<xsl:value-of select="format-number(27 - (@value - $min) div $range * 24, '0.0')"/>
              <xsl:text> </xsl:text>
            </xsl:for-each>
          </xsl:attribute>
        </polyline>
      </svg>
    </xsl:if>
  </xsl:template>

  <!-- Weekly trend chart with the target as a dashed line, 460 x 170. -->
  <xsl:template name="trend-chart">
    <xsl:variable name="t" select="trend"/>
    <xsl:variable name="min" select="$t/@min"/>
    <xsl:variable name="range" select="$t/@max - $t/@min"/>
    <xsl:variable name="x0" select="44"/>
    <xsl:variable name="pw" select="400"/>
    <xsl:variable name="y0" select="14"/>
    <xsl:variable name="ph" select="120"/>
    <div class="chart">
      <div class="t"><xsl:value-of select="name"/> <span class="muted small"> (<xsl:value-of select="@unit"/>, per week)</span></div>
      <svg width="100%" viewBox="0 0 460 170" role="img">
        <line x1="{$x0}" y1="{$y0 + $ph}" x2="{$x0 + $pw}" y2="{$y0 + $ph}" stroke="#c9d0d7"></line>
        <line x1="{$x0}" y1="{$y0}" x2="{$x0}" y2="{$y0 + $ph}" stroke="#c9d0d7"></line>
        <text x="{$x0 - 4}" y="{$y0 + 4}" font-size="10" text-anchor="end" fill="#5b6775"><xsl:value-of select="format-number($t/@max, '0.#')"/></text>
        <text x="{$x0 - 4}" y="{$y0 + $ph}" font-size="10" text-anchor="end" fill="#5b6775"><xsl:value-of select="format-number($t/@min, '0.#')"/></text>
        <xsl:if test="@target-value">
          <xsl:variable name="ty" select="$y0 + $ph - (@target-value - $min) div $range * $ph"/>
          <line x1="{$x0}" y1="{$ty}" x2="{$x0 + $pw}" y2="{$ty}" stroke="#1d2733" stroke-dasharray="5,4"></line>
          <text x="{$x0 + $pw}" y="{$ty - 3}" font-size="10" text-anchor="end" fill="#1d2733">target <xsl:value-of select="@target"/></text>
        </xsl:if>
        <polyline fill="none" stroke="#1f5fa8" stroke-width="2">
          <xsl:attribute name="points">
            <xsl:for-each select="$t/point[@available='true']">
              <xsl:value-of select="format-number($x0 + (@week - 1) * $pw div ($nweeks - 1), '0.0')"/>,<xsl:value-of select="format-number($y0 + $ph - (@value - $min) div $range * $ph, '0.0')"/>
              <xsl:text> </xsl:text>
            </xsl:for-each>
          </xsl:attribute>
        </polyline>
        <xsl:for-each select="$t/point[@available='true']">
          <circle cx="{format-number($x0 + (@week - 1) * $pw div ($nweeks - 1), '0.0')}" cy="{format-number($y0 + $ph - (@value - $min) div $range * $ph, '0.0')}" r="2.5" fill="#1f5fa8"></circle>
        </xsl:for-each>
        <xsl:for-each select="$t/point">
          <xsl:if test="(@week - 1) mod 2 = 0">
            <text x="{format-number($x0 + (@week - 1) * $pw div ($nweeks - 1), '0.0')}" y="{$y0 + $ph + 14}" font-size="9" text-anchor="middle" fill="#5b6775">W<xsl:value-of select="@week"/></text>
          </xsl:if>
        </xsl:for-each>
      </svg>
    </div>
  </xsl:template>

  <!-- Stacked bar of satisfied / not satisfied / not evaluated. -->
  <xsl:template name="stack">
    <xsl:variable name="tot" select="@in-scope"/>
    <svg width="100%" height="20" viewBox="0 0 400 20" preserveAspectRatio="none" role="img">
      <xsl:choose>
        <xsl:when test="$tot &gt; 0">
          <xsl:variable name="a" select="@satisfied div $tot * 400"/>
          <xsl:variable name="b" select="@not-satisfied div $tot * 400"/>
          <rect x="0" y="2" width="{$a}" height="16" fill="#1e8a4c"></rect>
          <rect x="{$a}" y="2" width="{$b}" height="16" fill="#c0392b"></rect>
          <rect x="{$a + $b}" y="2" width="{400 - $a - $b}" height="16" fill="#c9d0d7"></rect>
        </xsl:when>
        <xsl:otherwise><rect x="0" y="2" width="400" height="16" fill="#e8ecf0"></rect></xsl:otherwise>
      </xsl:choose>
    </svg>
  </xsl:template>

  <xsl:template name="sev-bars">
    <xsl:variable name="f" select="findings"/>
    <xsl:variable name="m">
      <xsl:for-each select="$f/@critical | $f/@high | $f/@medium | $f/@low">
        <xsl:sort select="." data-type="number" order="descending"/>
        <xsl:if test="position() = 1"><xsl:value-of select="."/></xsl:if>
      </xsl:for-each>
    </xsl:variable>
    <svg width="100%" height="104" viewBox="0 0 520 104" role="img">
      <xsl:for-each select="$f/@critical | $f/@high | $f/@medium | $f/@low">
        <xsl:variable name="y" select="(position() - 1) * 25 + 2"/>
        <xsl:variable name="w">
          <xsl:choose><xsl:when test="$m &gt; 0"><xsl:value-of select=". div $m * 400"/></xsl:when><xsl:otherwise>0</xsl:otherwise></xsl:choose>
        </xsl:variable>
        <text x="0" y="{$y + 14}" font-size="12" fill="#1d2733"><xsl:value-of select="name()"/></text>
        <rect x="70" y="{$y + 2}" width="{$w}" height="16">
          <xsl:attribute name="fill">
            <xsl:choose>
              <xsl:when test="name()='critical'">#7b1020</xsl:when><xsl:when test="name()='high'">#c0392b</xsl:when>
              <xsl:when test="name()='medium'">#c77c02</xsl:when><xsl:otherwise>#8a949e</xsl:otherwise>
            </xsl:choose>
          </xsl:attribute>
        </rect>
        <text x="{76 + $w}" y="{$y + 14}" font-size="12" fill="#1d2733"><xsl:value-of select="."/></text>
      </xsl:for-each>
    </svg>
  </xsl:template>
</xsl:stylesheet>
