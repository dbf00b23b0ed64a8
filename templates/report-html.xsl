<?xml version="1.0" encoding="UTF-8"?>
<!-- report-html.xsl: the steering-committee report, from auditd's report
     document (root <report version="2">, see docs/reports.md). Self-contained:
     inline CSS and SVG, no scripts, no external assets; prints on A4.
     Swap it with `auditd report` and its template option. -->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:output method="html" encoding="UTF-8" indent="no" doctype-system="about:legacy-compat"/>

  <xsl:variable name="nweeks" select="count(/report/weeks/week)"/>
  <xsl:variable name="npweeks" select="count(/report/previous-weeks/week)"/>
  <xsl:variable name="tlweeks" select="/report/@timeline-weeks"/>
  <xsl:variable name="cur" select="/report/@currency"/>

  <xsl:template match="/report">
    <html lang="en">
      <head>
        <meta charset="utf-8"/>
        <meta name="viewport" content="width=device-width, initial-scale=1"/>
        <title><xsl:value-of select="@title"/> — <xsl:value-of select="@period"/></title>
        <style>
          :root { --ink:#1d2733; --muted:#5b6775; --line:#d9dee4; --bg:#f5f7f9; --ok:#1e8a4c; --bad:#c0392b; --warn:#c77c02; --na:#8a949e; --accent:#1f5fa8; --before:#9aa5b1; }
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
          .nowrap { white-space: nowrap; }
          .summary-line { font-size: 15px; margin: 8px 0 12px; }
          ul.story { margin: 6px 0 14px; padding-left: 0; list-style: none; }
          ul.story li { margin: 4px 0; padding-left: 22px; position: relative; }
          ul.story li::before { content: ""; position: absolute; left: 4px; top: 7px; width: 9px; height: 9px; border-radius: 50%; background: var(--na); }
          ul.story li.improved::before { background: var(--ok); }
          ul.story li.worse::before { background: var(--bad); }
          ul.story li.worth::before { background: var(--accent); border-radius: 2px; }
          ul.story li.worth { color: #173f70; }
          .cards { display: grid; grid-template-columns: repeat(3, 1fr); gap: 12px; }
          .card { border: 1px solid var(--line); border-radius: 6px; padding: 12px 14px; break-inside: avoid; page-break-inside: avoid; }
          .card .name { font-size: 12px; color: var(--muted); text-transform: uppercase; letter-spacing: .03em; min-height: 32px; }
          .card .big { font-size: 28px; font-weight: 600; margin: 2px 0; }
          .card .big .unit { font-size: 14px; font-weight: 400; color: var(--muted); margin-left: 3px; }
          .card .cmp { font-size: 12px; color: var(--muted); }
          .card .cov { font-size: 12px; margin-top: 4px; border-top: 1px dashed var(--line); padding-top: 4px; }
          .pill { display:inline-block; padding: 1px 8px; border-radius: 10px; font-size: 11px; font-weight: 600; color:#fff; white-space: nowrap; }
          .met { background: var(--ok); } .missed { background: var(--bad); } .na { background: var(--na); } .no-target { background: var(--accent); } .pending { background: var(--warn); }
          .sev-critical { background:#7b1020; } .sev-high { background: var(--bad); } .sev-medium { background: var(--warn); } .sev-low { background: var(--na); }
          .better { color: var(--ok); } .worse { color: var(--bad); } .flat { color: var(--muted); }
          table { width: 100%; border-collapse: collapse; margin: 6px 0 10px; }
          th, td { text-align: left; padding: 5px 7px; border-bottom: 1px solid var(--line); vertical-align: top; }
          th { font-size: 12px; color: var(--muted); font-weight: 600; background: var(--bg); }
          td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
          tr { break-inside: avoid; page-break-inside: avoid; }
          table.kpis td, table.kpis th { font-size: 12.5px; }
          table.findings td { font-size: 13px; }
          .charts { display: grid; grid-template-columns: repeat(2, 1fr); gap: 14px; }
          .chart { border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px; break-inside: avoid; page-break-inside: avoid; }
          .chart .t { font-weight: 600; font-size: 13px; }
          .chart .foot { font-size: 11px; color: var(--muted); }
          .fw { display: grid; grid-template-columns: 240px 1fr; gap: 4px 14px; align-items: center; margin: 8px 0 12px; break-inside: avoid; }
          .legend span { display: inline-block; margin-right: 12px; font-size: 12px; }
          .legend i { display: inline-block; width: 10px; height: 10px; margin-right: 4px; vertical-align: -1px; }
          .integrity { border-left: 4px solid var(--ok); background: #f3faf5; padding: 10px 14px; }
          .integrity.bad { border-left-color: var(--bad); background: #fdf2f1; }
          pre.note { background: var(--bg); padding: 8px 10px; font-size: 12px; overflow-x: auto; white-space: pre-wrap; word-break: break-all; }
          .signoff { display: grid; grid-template-columns: repeat(2, 1fr); gap: 18px 28px; margin-top: 12px; }
          .sig { border-top: 1px solid var(--ink); padding-top: 4px; margin-top: 38px; font-size: 12px; }
          .defs td { font-size: 12px; }
          .refs { font-size: 11px; color: var(--muted); word-break: break-word; }
          footer { margin-top: 30px; font-size: 11px; color: var(--muted); border-top: 1px solid var(--line); padding-top: 8px; }
          @media print {
            body { background: #fff; font-size: 10.5px; }
            main { max-width: none; padding: 0; }
            h2 { break-after: avoid; page-break-after: avoid; }
            h3 { break-after: avoid; page-break-after: avoid; }
            .cards { grid-template-columns: repeat(3, 1fr); }
            .card .big { font-size: 22px; }
            table.kpis td, table.kpis th, table.findings td { font-size: 9.5px; padding: 3px 4px; }
            th, td { padding: 3px 5px; }
            .pagebreak { break-before: page; page-break-before: always; }
            @page { size: A4; margin: 12mm 11mm; }
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
              compared with <xsl:value-of select="@previous-period"/>
              <xsl:if test="@baseline-period"> and the baseline <xsl:value-of select="@baseline-period"/></xsl:if> ·
              issued <xsl:value-of select="@issued"/> ·
              <xsl:if test="@site">site <xsl:value-of select="@site"/> · </xsl:if>
              ledger <xsl:value-of select="@origin"/>, <xsl:value-of select="format-number(integrity/@tree-size, '#,##0')"/> entries
            </div>
          </header>

          <section id="summary">
            <h2>1. Executive summary</h2>
            <p class="summary-line">
              <strong><xsl:value-of select="kpis/@met"/></strong> of
              <xsl:value-of select="count(kpis/kpi[@status='met' or @status='missed'])"/> KPIs with a target are on target,
              <strong><xsl:value-of select="kpis/@missed"/></strong> missed,
              <xsl:value-of select="kpis/@not-available"/> not available for lack of data.
              <xsl:value-of select="findings/@total"/> open findings
              (<xsl:value-of select="findings/@critical"/> critical, <xsl:value-of select="findings/@high"/> high);
              <xsl:value-of select="incidents/@opened"/> incidents opened in the period.
              Ledger integrity: <strong><xsl:value-of select="integrity/@signature"/></strong>.
            </p>
            <xsl:if test="@baseline-note">
              <p class="small muted">Baseline <xsl:value-of select="@baseline-period"/>: <xsl:value-of select="@baseline-note"/>.</p>
            </xsl:if>
            <xsl:if test="summary/sentence[@kind!='missed']">
              <h3><xsl:choose><xsl:when test="@period-is-baseline='true'">The baseline</xsl:when><xsl:otherwise>What changed against the baseline</xsl:otherwise></xsl:choose></h3>
              <ul class="story">
                <xsl:for-each select="summary/sentence[@kind!='missed']">
                  <li class="{@kind}"><xsl:value-of select="."/></li>
                </xsl:for-each>
              </ul>
            </xsl:if>
            <div class="cards">
              <xsl:for-each select="kpis/kpi[@headline='true']">
                <xsl:call-template name="card"/>
              </xsl:for-each>
            </div>
            <xsl:if test="kpis/kpi[@status='missed']">
              <h3>Missed targets and who owns them (RACI Accountable)</h3>
              <table>
                <thead><tr><th>KPI</th><th class="num">Value</th><th class="num">Target</th><th class="num">Baseline</th><th>Owner</th></tr></thead>
                <tbody>
                  <xsl:for-each select="kpis/kpi[@status='missed']">
                    <tr>
                      <td><xsl:value-of select="name"/></td>
                      <td class="num nowrap"><strong><xsl:value-of select="@display"/></strong><xsl:call-template name="unit-suffix"/></td>
                      <td class="num nowrap"><xsl:value-of select="@target"/><xsl:call-template name="unit-suffix"/></td>
                      <td class="num nowrap"><xsl:choose><xsl:when test="@baseline"><xsl:value-of select="@baseline"/><xsl:call-template name="unit-suffix"/></xsl:when><xsl:otherwise><span class="muted">–</span></xsl:otherwise></xsl:choose></td>
                      <td><xsl:choose>
                        <xsl:when test="@owner"><xsl:value-of select="@owner-name"/><span class="muted small"> (<xsl:value-of select="@owner-activity"/>)</span></xsl:when>
                        <xsl:when test="@owner-activity"><span class="muted">no Accountable for <xsl:value-of select="@owner-activity"/> in the RACI policy</span></xsl:when>
                        <xsl:otherwise><span class="muted">unassigned</span></xsl:otherwise>
                      </xsl:choose></td>
                    </tr>
                  </xsl:for-each>
                </tbody>
              </table>
            </xsl:if>
          </section>

          <section id="impact">
            <h2>2. Impact against the baseline</h2>
            <p class="small muted">Each operational KPI an initiative is anchored in: the baseline
              <xsl:if test="@baseline-period">(measured in <xsl:value-of select="@baseline-period"/>, <xsl:value-of select="@baseline-period-from"/> to <xsl:value-of select="@baseline-period-to"/>)</xsl:if>
              beside this period, the change, the target, and what moves the KPI. Bars: grey = baseline, colour = this period, black tick = target.</p>
            <table class="kpis">
              <thead><tr><th>KPI</th><th>Before / after</th><th class="num">Baseline</th><th class="num"><xsl:value-of select="@previous-period"/></th><th class="num"><xsl:value-of select="@period"/></th><th class="num">Change vs baseline</th><th class="num">Target</th><th>Moved by</th></tr></thead>
              <tbody>
                <xsl:for-each select="kpis/kpi[@impact-kpi='true']">
                  <tr>
                    <td><strong><xsl:value-of select="name"/></strong><xsl:if test="@format != 'count'"><span class="muted small"> (<xsl:value-of select="@unit"/>)</span></xsl:if>
                      <div><xsl:call-template name="status-pill"/></div>
                      <xsl:if test="worth"><div class="small"><xsl:call-template name="worth-line"/></div></xsl:if></td>
                    <td style="width:150px"><xsl:call-template name="before-after"/></td>
                    <td class="num nowrap"><xsl:choose><xsl:when test="@baseline"><xsl:value-of select="@baseline"/><div class="muted small"><xsl:value-of select="@baseline-source"/></div></xsl:when><xsl:otherwise><span class="muted small"><xsl:value-of select="@baseline-why"/></span></xsl:otherwise></xsl:choose></td>
                    <td class="num nowrap"><xsl:choose><xsl:when test="@previous"><xsl:value-of select="@previous"/></xsl:when><xsl:otherwise><span class="muted small">n/a</span></xsl:otherwise></xsl:choose></td>
                    <td class="num nowrap"><strong><xsl:value-of select="@display"/></strong></td>
                    <td class="num nowrap"><span class="{@baseline-direction}"><xsl:value-of select="@change-baseline"/></span></td>
                    <td class="num nowrap"><xsl:value-of select="@target"/></td>
                    <td class="small">
                      <xsl:for-each select="anchor[@kind='model' or @kind='edge']">
                        <div><span class="muted"><xsl:value-of select="@kind"/>: </span><xsl:value-of select="."/></div>
                      </xsl:for-each>
                    </td>
                  </tr>
                </xsl:for-each>
              </tbody>
            </table>
            <xsl:if test="markers/marker">
              <p class="small muted">Deployments in the two periods shown:
                <xsl:for-each select="markers/marker"><xsl:value-of select="@label"/> (<xsl:value-of select="@date"/>)<xsl:if test="position() != last()">; </xsl:if></xsl:for-each>.</p>
            </xsl:if>
          </section>

          <section id="kpis">
            <h2>3. All KPIs: value, comparison and how each is computed</h2>
            <table class="kpis">
              <thead><tr>
                <th>KPI</th><th class="num">Value</th><th class="num">Target</th>
                <th class="num">Previous</th><th class="num">Baseline</th><th class="num">Change</th><th>Status</th>
                <th>Computed from (this period)</th>
              </tr></thead>
              <tbody>
                <xsl:for-each select="kpis/kpi">
                  <tr>
                    <td><xsl:value-of select="name"/><xsl:if test="@format != 'count'"><span class="muted small"> (<xsl:value-of select="@unit"/>)</span></xsl:if></td>
                    <td class="num nowrap"><strong><xsl:value-of select="@display"/></strong></td>
                    <td class="num nowrap"><xsl:value-of select="@target"/></td>
                    <td class="num nowrap"><xsl:choose><xsl:when test="@previous"><xsl:value-of select="@previous"/></xsl:when><xsl:otherwise><span class="muted">n/a</span></xsl:otherwise></xsl:choose></td>
                    <td class="num nowrap"><xsl:choose><xsl:when test="@baseline"><xsl:value-of select="@baseline"/></xsl:when><xsl:otherwise><span class="muted">n/a</span></xsl:otherwise></xsl:choose></td>
                    <td class="num nowrap"><span class="{@trend-direction}"><xsl:value-of select="@delta"/></span></td>
                    <td><xsl:call-template name="status-pill"/>
                      <xsl:if test="@why"><div class="muted small"><xsl:value-of select="@why"/></div></xsl:if>
                      <xsl:if test="@note"><div class="muted small"><xsl:value-of select="@note"/></div></xsl:if>
                    </td>
                    <td class="small">
                      <xsl:choose>
                        <xsl:when test="term[@role='numerator'] and term[@role='denominator']">
                          <xsl:value-of select="term[@role='numerator']/@display"/><xsl:text> </xsl:text><xsl:value-of select="term[@role='numerator']/@unit"/>
                          <span class="muted"><xsl:text> </xsl:text><xsl:value-of select="term[@role='numerator']/@name"/></span>
                          <br/>÷ <xsl:value-of select="term[@role='denominator']/@display"/><xsl:text> </xsl:text><xsl:value-of select="term[@role='denominator']/@unit"/>
                          <span class="muted"><xsl:text> </xsl:text><xsl:value-of select="term[@role='denominator']/@name"/></span>
                        </xsl:when>
                        <xsl:otherwise>
                          <xsl:for-each select="term[position() &lt;= 4]">
                            <xsl:value-of select="@display"/><xsl:text> </xsl:text><xsl:value-of select="@unit"/><span class="muted"><xsl:text> </xsl:text><xsl:value-of select="@name"/></span><xsl:if test="position() != last()"><br/></xsl:if>
                          </xsl:for-each>
                        </xsl:otherwise>
                      </xsl:choose>
                      <div class="muted"><xsl:value-of select="format-number(evidence/@count, '#,##0')"/><xsl:text> </xsl:text><xsl:value-of select="evidence/@what"/></div>
                    </td>
                  </tr>
                </xsl:for-each>
              </tbody>
            </table>
            <p class="small muted">Previous is <xsl:value-of select="@previous-period"/>; baseline is measured in the baseline period, or stated in the KPI definitions where marked; change is this period minus the previous one, in the KPI's unit (points for percentages). The inputs of every KPI, for all three periods, are in the KPI table (<code>--format json</code>).</p>
          </section>

          <section id="trends">
            <h2>4. Trends per week, before and after</h2>
            <p class="small muted">Weeks of 7 days from the start of each period: <xsl:value-of select="@previous-period"/> shaded grey (before), <xsl:value-of select="@period"/> in blue, its weekly values written every other week; dotted = baseline, dashed = target; orange lines mark the deployments of models and of firmware to the machines measured. Hollow points are partial weeks: shown, not joined.</p>
            <xsl:choose>
              <xsl:when test="kpis/kpi[trend/@points + trend/@previous-points &gt;= 2]">
                <div class="charts">
                  <xsl:for-each select="kpis/kpi[trend/@points + trend/@previous-points &gt;= 2 and (@impact-kpi='true' or @group='model' or @id='energy_reduction')]">
                    <xsl:call-template name="trend-chart"/>
                  </xsl:for-each>
                </div>
              </xsl:when>
              <xsl:otherwise><p class="muted">Not enough weekly data for trend charts.</p></xsl:otherwise>
            </xsl:choose>
          </section>

          <section id="compliance">
            <h2>5. Compliance posture</h2>
            <xsl:choose>
              <xsl:when test="compliance/@available='true'">
                <p>
                  <strong><xsl:value-of select="compliance/@satisfied"/></strong> of <xsl:value-of select="compliance/@in-scope"/> in-scope controls are satisfied
                  (<xsl:value-of select="kpis/kpi[@id='controls_satisfied']/@display"/> %). Read that with its coverage:
                  only <strong><xsl:value-of select="compliance/@with-rules"/></strong> of the <xsl:value-of select="compliance/@in-scope"/> have an evidence rule auditd can evaluate
                  (<xsl:value-of select="kpis/kpi[@id='controls_with_rules']/@display"/> %); of those, <xsl:value-of select="compliance/@satisfied"/>
                  (<xsl:value-of select="kpis/kpi[@id='controls_satisfied_of_ruled']/@display"/> %) are satisfied. The other
                  <xsl:value-of select="compliance/@in-scope - compliance/@with-rules"/> need evidence from outside the ledger (documents, interviews) or a new rule.
                </p>
                <div class="legend">
                  <span><i style="background:#1e8a4c"></i>satisfied</span>
                  <span><i style="background:#c0392b"></i>not satisfied</span>
                  <span><i style="background:#e0a84a"></i>rule, but no evidence in the period</span>
                  <span><i style="background:#d5dae0"></i>no evidence rule</span>
                </div>
                <xsl:for-each select="compliance/framework">
                  <div class="fw">
                    <div><strong><xsl:value-of select="@name"/></strong><br/>
                      <span class="muted small"><xsl:value-of select="@in-scope"/> in scope, <xsl:value-of select="@with-rules"/> with an evidence rule</span></div>
                    <div><xsl:call-template name="stack"/>
                      <div class="small"><xsl:value-of select="@satisfied"/> satisfied · <xsl:value-of select="@not-satisfied"/> not satisfied · <xsl:value-of select="@no-evidence"/> without evidence · <xsl:value-of select="@no-rules"/> without a rule<xsl:if test="@share-ruled"> — <xsl:value-of select="@share-ruled"/> % of those with a rule satisfied</xsl:if></div></div>
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
            <h2>6. Findings: who, what, when, which control</h2>
            <xsl:choose>
              <xsl:when test="findings/finding">
                <table class="findings">
                  <thead><tr><th>Severity</th><th style="width:42%">What is required, and what happened</th><th>When</th><th>Owner (RACI)</th><th>Controls</th><th style="width:15%">Rule and ledger entries</th></tr></thead>
                  <tbody>
                    <xsl:for-each select="findings/finding">
                      <tr>
                        <td><span class="pill sev-{@severity}"><xsl:value-of select="@severity"/></span></td>
                        <td><strong><xsl:value-of select="@what"/></strong><div><xsl:value-of select="."/></div>
                          <xsl:if test="@occurrences &gt; 1"><div class="muted small"><xsl:value-of select="@occurrences"/> occurrences in the period; the first is shown</div></xsl:if></td>
                        <td class="small nowrap"><xsl:value-of select="@when"/></td>
                        <td><xsl:value-of select="@owner"/></td>
                        <td class="small"><xsl:value-of select="@control"/></td>
                        <td class="refs"><xsl:value-of select="@rule"/>
                          <xsl:if test="@ledger-entries != ''"><br/>entries <xsl:value-of select="@ledger-entries"/></xsl:if>
                          <xsl:if test="@mentioned-entries != '' and @mentioned-entries != @ledger-entries"> (mentions <xsl:value-of select="@mentioned-entries"/>)</xsl:if></td>
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
            <h2>7. Incidents</h2>
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
                <thead><tr><th>Incident</th><th>Severity</th><th>Opened</th><th class="num">Acknowledged after</th><th class="num">Resolved after</th><th>SLA</th><th>Accountable</th></tr></thead>
                <tbody>
                  <xsl:for-each select="incidents/incident">
                    <tr>
                      <td><xsl:value-of select="@id"/><div class="muted small"><xsl:value-of select="."/></div></td>
                      <td><span class="pill sev-{@severity}"><xsl:value-of select="@severity"/></span></td>
                      <td class="small nowrap"><xsl:value-of select="@opened-words"/></td>
                      <td class="num nowrap"><xsl:value-of select="@ack-words"/></td>
                      <td class="num nowrap"><xsl:value-of select="@resolve-words"/></td>
                      <td><span class="pill {@sla}"><xsl:value-of select="@sla"/></span></td>
                      <td><xsl:value-of select="@owner"/></td>
                    </tr>
                  </xsl:for-each>
                </tbody>
              </table>
            </xsl:if>
          </section>

          <section id="models">
            <h2>8. Model inventory</h2>
            <xsl:choose>
              <xsl:when test="models/model">
                <table>
                  <thead><tr><th>Model</th><th>Version</th><th>Deployed</th><th>Deployed by</th><th>Approved by</th><th class="num">Precision</th><th class="num">Recall</th><th class="num">Predictions</th></tr></thead>
                  <tbody>
                    <xsl:for-each select="models/model">
                      <tr>
                        <td><xsl:value-of select="@name"/>
                          <xsl:if test="@in-force='true'"><xsl:text> </xsl:text><span class="pill met">in force</span></xsl:if>
                          <xsl:if test="@after-period='true'"><xsl:text> </xsl:text><span class="pill no-target">after the period</span></xsl:if></td>
                        <td><xsl:value-of select="@version"/></td>
                        <td class="small nowrap"><xsl:value-of select="@deployed-words"/></td>
                        <td><xsl:value-of select="@deployed-by"/></td>
                        <td><xsl:value-of select="@approved-by"/><div class="muted small">change <xsl:value-of select="@change-id"/></div></td>
                        <td class="num"><xsl:if test="@precision"><xsl:value-of select="@precision"/> %</xsl:if></td>
                        <td class="num"><xsl:if test="@recall"><xsl:value-of select="@recall"/> %</xsl:if></td>
                        <td class="num"><xsl:value-of select="format-number(@predictions, '#,##0')"/></td>
                      </tr>
                    </xsl:for-each>
                  </tbody>
                </table>
                <p class="muted small">The inventory is as of the report's date. Precision and recall in the table are the held-out test figures recorded at registration; below, what the model in force actually flagged on this period's labelled readings.</p>
              </xsl:when>
              <xsl:otherwise><p class="muted">No model was deployed in or before the period.</p></xsl:otherwise>
            </xsl:choose>
            <h3>Measured in production this period</h3>
            <xsl:choose>
              <xsl:when test="models/live/@available='true'">
                <p class="small">Every labelled reading of the period against the prediction stored when it was ingested
                  (<xsl:choose><xsl:when test="models/live/@model"><xsl:value-of select="models/live/@model"/></xsl:when><xsl:otherwise>no model</xsl:otherwise></xsl:choose>;
                  a reading ingested while no model was deployed counts as "no alarm"):
                  <xsl:value-of select="format-number(models/live/@scored, '#,##0')"/> of <xsl:value-of select="format-number(models/live/@labelled, '#,##0')"/> labelled readings were scored. Counts are readings.</p>
                <table style="width:auto">
                  <thead><tr><th></th><th class="num">Reading with failure</th><th class="num">Without failure</th></tr></thead>
                  <tbody>
                    <tr><th>Alarm</th><td class="num"><xsl:value-of select="format-number(models/live/@tp, '#,##0')"/></td><td class="num"><xsl:value-of select="format-number(models/live/@fp, '#,##0')"/></td></tr>
                    <tr><th>No alarm</th><td class="num"><xsl:value-of select="format-number(models/live/@fn, '#,##0')"/></td><td class="num"><xsl:value-of select="format-number(models/live/@tn, '#,##0')"/></td></tr>
                  </tbody>
                </table>
                <p class="small">Detection rate <strong><xsl:value-of select="kpis/kpi[@id='defect_detection_rate']/@display"/> %</strong>,
                  precision <strong><xsl:value-of select="kpis/kpi[@id='model_precision']/@display"/><xsl:if test="kpis/kpi[@id='model_precision']/@available='true'"> %</xsl:if></strong>,
                  false-alarm rate <strong><xsl:value-of select="kpis/kpi[@id='false_alarm_rate']/@display"/> %</strong>.</p>
              </xsl:when>
              <xsl:otherwise><p class="muted">Not available: <xsl:value-of select="models/live/@why"/>.</p></xsl:otherwise>
            </xsl:choose>
            <xsl:variable name="op" select="models/operator-labels"/>
            <p class="small" id="label-source"><strong>Truth used: precision counts
              <xsl:choose><xsl:when test="$op/@precision-source='operator_labels'">the operators' verdicts</xsl:when><xsl:otherwise>the readings' failure_label field (in the simulated plant, the simulator's ground truth)</xsl:otherwise></xsl:choose>,
              the detection rate (recall)
              <xsl:choose><xsl:when test="$op/@recall-source='operator_labels'">the operators' verdicts</xsl:when><xsl:otherwise>the failure_label field</xsl:otherwise></xsl:choose>,
              the false-alarm rate the failure_label field.</strong>
              Operators gave <xsl:value-of select="format-number($op/@verdicts, '#,##0')"/> verdicts on this period's readings in the console
              (<xsl:value-of select="$op/@tp"/> confirmed failures and <xsl:value-of select="$op/@fp"/> false alarms on alarms, <xsl:value-of select="$op/@fn"/> confirmed failures without one, <xsl:value-of select="$op/@tn"/> false alarms without one);
              a figure counts them once its denominator holds <xsl:value-of select="$op/@min"/>: precision the verdicts on alarms, recall the confirmed failures.
              Operators judge what was raised, so a failure nobody raised or reported does not lower the recall they give.</p>
          </section>

          <section id="data">
            <h2>9. Data quality and drift</h2>
            <xsl:variable name="dq" select="data-quality"/>
            <xsl:choose>
              <xsl:when test="$dq/@available='true'">
                <p>Every reading is counted once, by its own time:
                  <strong><xsl:value-of select="format-number($dq/@received, '#,##0')"/></strong> readings received for the period;
                  <xsl:value-of select="format-number($dq/@accepted, '#,##0')"/> accepted at ingestion and
                  <strong><xsl:value-of select="format-number($dq/@quarantined, '#,##0')"/></strong> quarantined (<xsl:value-of select="$dq/@rate"/> %).
                  <xsl:choose>
                    <xsl:when test="$dq/@recovered &gt; 0">A replay after a fix recovered <xsl:value-of select="format-number($dq/@recovered, '#,##0')"/> of them; <xsl:value-of select="format-number($dq/@still-quarantined, '#,##0')"/> remain quarantined (<xsl:value-of select="$dq/@rate-after-replay"/> %).</xsl:when>
                    <xsl:otherwise>None was recovered by a replay.</xsl:otherwise>
                  </xsl:choose></p>
              </xsl:when>
              <xsl:otherwise><p class="muted">No telemetry for the period<xsl:if test="$dq/@problem"> (<xsl:value-of select="$dq/@problem"/>)</xsl:if>.</p></xsl:otherwise>
            </xsl:choose>
            <xsl:if test="$dq/reason">
              <table style="width:auto">
                <thead><tr><th>Quarantine reason</th><th class="num">At ingestion</th><th class="num">Recovered by replay</th><th class="num">Still quarantined</th></tr></thead>
                <tbody>
                  <xsl:for-each select="$dq/reason">
                    <xsl:sort select="@count" data-type="number" order="descending"/>
                    <tr><td><xsl:value-of select="@name"/></td><td class="num"><xsl:value-of select="format-number(@count, '#,##0')"/></td><td class="num"><xsl:value-of select="format-number(@recovered, '#,##0')"/></td><td class="num"><xsl:value-of select="format-number(@still, '#,##0')"/></td></tr>
                  </xsl:for-each>
                  <tr><th>total</th><th class="num"><xsl:value-of select="format-number($dq/@quarantined, '#,##0')"/></th><th class="num"><xsl:value-of select="format-number($dq/@recovered, '#,##0')"/></th><th class="num"><xsl:value-of select="format-number($dq/@still-quarantined, '#,##0')"/></th></tr>
                </tbody>
              </table>
            </xsl:if>
            <h3>Drift</h3>
            <xsl:choose>
              <xsl:when test="drift/@monitored='true'">
                <p><strong><xsl:value-of select="drift/@count"/></strong> drift detection<xsl:if test="drift/@count != 1">s</xsl:if> by the drift monitor (<code>auditd drift</code>) for a model in force<xsl:if test="drift/@previous"><span class="muted small"> (previous period: <xsl:value-of select="drift/@previous"/>)</span></xsl:if>.
                  <span class="small muted">A detection is a feature whose population stability index (PSI) against the training data exceeds the threshold; the Kolmogorov-Smirnov statistic (KS) is shown beside it.</span></p>
              </xsl:when>
              <xsl:otherwise><p class="muted">No model was in force in the period: nothing to monitor for drift.</p></xsl:otherwise>
            </xsl:choose>
            <xsl:if test="drift/event">
              <table>
                <thead><tr><th>When</th><th>Model</th><th>Feature</th><th class="num">PSI</th><th class="num">KS</th><th class="num">Threshold</th><th class="num">Ledger entry</th></tr></thead>
                <tbody>
                  <xsl:for-each select="drift/event[position() &lt;= 30]">
                    <tr>
                      <td class="small nowrap"><xsl:value-of select="@when"/></td>
                      <td><xsl:value-of select="@model"/>@<xsl:value-of select="@version"/></td>
                      <td><xsl:value-of select="@feature"/></td>
                      <td class="num"><xsl:value-of select="@psi"/></td>
                      <td class="num"><xsl:value-of select="@ks"/></td>
                      <td class="num"><xsl:value-of select="@threshold"/></td>
                      <td class="num refs"><xsl:value-of select="@ledger-index"/></td>
                    </tr>
                  </xsl:for-each>
                </tbody>
              </table>
            </xsl:if>
          </section>

          <section id="integrity">
            <h2>10. Ledger integrity statement</h2>
            <xsl:variable name="bad" select="integrity/@signature != 'verified' or integrity/previous/@consistency = 'failed'"/>
            <div>
              <xsl:attribute name="class">integrity<xsl:if test="$bad"> bad</xsl:if></xsl:attribute>
              <p>This report was computed from the first <strong><xsl:value-of select="format-number(integrity/@tree-size, '#,##0')"/></strong> entries
                of ledger <strong><xsl:value-of select="@origin"/></strong> (the last recorded <xsl:value-of select="integrity/@recorded"/>), whose Merkle tree root is
                <code style="word-break:break-all"><xsl:value-of select="integrity/@root"/></code>.
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
            <p class="muted small">Verifier key: <code style="word-break:break-all"><xsl:value-of select="integrity/@key"/></code></p>
          </section>

          <section id="definitions" class="pagebreak">
            <h2>11. KPI definitions</h2>
            <table class="defs">
              <thead><tr><th>KPI</th><th>Formula</th><th>Evidence</th><th>Moved by</th><th>Why it matters</th><th>Source</th></tr></thead>
              <tbody>
                <xsl:for-each select="kpis/kpi">
                  <tr>
                    <td><strong><xsl:value-of select="name"/></strong>
                      <div class="muted small"><xsl:value-of select="@direction"/> is better<xsl:if test="@owner-activity">; owner: Accountable of <xsl:value-of select="@owner-activity"/></xsl:if></div></td>
                    <td><xsl:value-of select="formula"/></td>
                    <td><xsl:value-of select="evidence"/></td>
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
            <h2>12. Sign-off</h2>
            <p class="small">The undersigned have reviewed this report for <xsl:value-of select="@period"/>.</p>
            <div class="signoff">
              <xsl:for-each select="signoff/role">
                <div><div class="sig"><xsl:value-of select="."/> — name, signature, date</div></div>
              </xsl:for-each>
            </div>
          </section>
          <footer>
            Generated by auditd from ledger <xsl:value-of select="@origin"/> at tree size <xsl:value-of select="integrity/@tree-size"/>;
            KPI definitions <xsl:value-of select="@kpi-definitions"/>. Reproducible: the same checkpoint, definitions and issue date give the same document.
          </footer>
        </main>
      </body>
    </html>
  </xsl:template>

  <xsl:template name="unit-suffix">
    <xsl:if test="@format != 'count'"><span class="muted small"><xsl:text> </xsl:text><xsl:value-of select="@unit"/></span></xsl:if>
  </xsl:template>

  <xsl:template name="status-pill">
    <xsl:choose>
      <xsl:when test="@status='met'"><span class="pill met">on target</span></xsl:when>
      <xsl:when test="@status='missed'"><span class="pill missed">off target</span></xsl:when>
      <xsl:when test="@status='no-target'"><span class="pill no-target">tracked</span></xsl:when>
      <xsl:otherwise><span class="pill na">n/a</span></xsl:otherwise>
    </xsl:choose>
  </xsl:template>

  <xsl:template name="worth-line">
    <xsl:choose>
      <xsl:when test="worth/@amount &gt;= 0">worth <strong><xsl:value-of select="worth/@currency"/><xsl:text> </xsl:text><xsl:value-of select="worth/@display"/></strong> (<xsl:value-of select="worth/@quantity-display"/><xsl:text> </xsl:text><xsl:value-of select="worth/@quantity-unit"/>)</xsl:when>
      <xsl:otherwise>costing <strong><xsl:value-of select="worth/@currency"/><xsl:text> </xsl:text><xsl:value-of select="substring(worth/@display, 2)"/></strong></xsl:otherwise>
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
        <xsl:choose>
          <xsl:when test="/report/@period-is-baseline='true'"> · this period is the baseline</xsl:when>
          <xsl:when test="@baseline and @change-baseline"> · baseline <xsl:value-of select="@baseline"/> (<span class="{@baseline-direction}"><xsl:value-of select="@change-baseline"/></span>)</xsl:when>
          <xsl:when test="@previous and @delta"> · <xsl:value-of select="/report/@previous-period"/><xsl:text> </xsl:text><xsl:value-of select="@previous"/> (<span class="{@trend-direction}"><xsl:value-of select="@delta"/></span>)</xsl:when>
        </xsl:choose>
        <xsl:if test="@why"><div><xsl:value-of select="@why"/></div></xsl:if>
        <xsl:if test="@note"><div><xsl:value-of select="@note"/></div></xsl:if>
        <xsl:if test="worth"><div><xsl:call-template name="worth-line"/></div></xsl:if>
      </div>
      <xsl:if test="@id='controls_satisfied'">
        <xsl:variable name="cov" select="/report/kpis/kpi[@id='controls_with_rules']"/>
        <xsl:variable name="rul" select="/report/kpis/kpi[@id='controls_satisfied_of_ruled']"/>
        <div class="cov">Coverage: <strong><xsl:value-of select="/report/compliance/@with-rules"/></strong> of <xsl:value-of select="/report/compliance/@in-scope"/> in-scope controls have an evidence rule
          (<xsl:value-of select="$cov/@display"/> %); of those, <strong><xsl:value-of select="$rul/@display"/> %</strong> are satisfied.</div>
      </xsl:if>
    </div>
  </xsl:template>

  <!-- Bullet chart: bar = value, black tick = target, grey tick = baseline. -->
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
      <xsl:if test="@baseline-value and @baseline-value &lt;= $max and @baseline-value &gt;= 0">
        <rect x="{@baseline-value div $max * $w - 1}" y="3" width="2" height="16" fill="#9aa5b1"></rect>
      </xsl:if>
      <xsl:if test="@target-value and @target-value &lt;= $max and @target-value &gt;= 0">
        <rect x="{@target-value div $max * $w - 1.5}" y="1" width="3" height="20" fill="#1d2733"></rect>
      </xsl:if>
    </svg>
  </xsl:template>

  <!-- Before / after: two bars on one scale (baseline grey, period coloured), target tick. -->
  <xsl:template name="before-after">
    <xsl:variable name="max" select="@bullet-max"/>
    <svg width="150" height="34" viewBox="0 0 150 34" role="img">
      <rect x="0" y="3" width="150" height="12" fill="#f0f2f5"></rect>
      <rect x="0" y="19" width="150" height="12" fill="#f0f2f5"></rect>
      <xsl:if test="@baseline-value and $max &gt; 0">
        <rect x="0" y="3" height="12" fill="#9aa5b1">
          <xsl:attribute name="width"><xsl:choose><xsl:when test="@baseline-value &gt; $max">150</xsl:when><xsl:when test="@baseline-value &lt; 0">0</xsl:when><xsl:otherwise><xsl:value-of select="format-number(@baseline-value div $max * 150, '0.0')"/></xsl:otherwise></xsl:choose></xsl:attribute>
        </rect>
      </xsl:if>
      <xsl:if test="@display-value and $max &gt; 0">
        <rect x="0" y="19" height="12">
          <xsl:attribute name="width"><xsl:choose><xsl:when test="@display-value &gt; $max">150</xsl:when><xsl:when test="@display-value &lt; 0">0</xsl:when><xsl:otherwise><xsl:value-of select="format-number(@display-value div $max * 150, '0.0')"/></xsl:otherwise></xsl:choose></xsl:attribute>
          <xsl:attribute name="fill"><xsl:choose><xsl:when test="@baseline-direction='worse'">#c0392b</xsl:when><xsl:when test="@baseline-direction='better'">#1e8a4c</xsl:when><xsl:otherwise>#1f5fa8</xsl:otherwise></xsl:choose></xsl:attribute>
        </rect>
      </xsl:if>
      <xsl:if test="@target-value and @target-value &lt;= $max and @target-value &gt;= 0">
        <rect x="{format-number(@target-value div $max * 150 - 1, '0.0')}" y="0" width="2" height="34" fill="#1d2733"></rect>
      </xsl:if>
    </svg>
  </xsl:template>

  <!-- Weekly trend over the previous and the current period, 520 x 210:
       dated x axis, y gridlines with values, the target (dashed) and the
       baseline (dotted), deployments as vertical lines, the current period's
       weekly values labelled; partial weeks hollow and not joined. -->
  <xsl:template name="trend-chart">
    <xsl:variable name="t" select="trend"/>
    <xsl:variable name="min" select="$t/@min"/>
    <xsl:variable name="range" select="$t/@max - $t/@min"/>
    <xsl:variable name="x0" select="48"/>
    <xsl:variable name="pw" select="462"/>
    <xsl:variable name="nmk" select="count(/report/markers/marker)"/>
    <xsl:variable name="y0" select="24 + $nmk * 10"/>
    <xsl:variable name="ph" select="140"/>
    <xsl:variable name="bw" select="$pw div $tlweeks"/>
    <xsl:variable name="every"><xsl:choose><xsl:when test="$tlweeks &gt; 20">3</xsl:when><xsl:otherwise>2</xsl:otherwise></xsl:choose></xsl:variable>
    <div class="chart">
      <div class="t"><xsl:value-of select="name"/> <span class="muted small"> (<xsl:value-of select="@unit"/>, per week)</span></div>
      <svg width="100%" viewBox="0 0 520 {$y0 + $ph + 34}" role="img">
        <!-- before / after regions -->
        <rect x="{$x0}" y="{$y0}" width="{format-number($npweeks * $bw, '0.0')}" height="{$ph}" fill="#f1f3f6"></rect>
        <text x="{$x0 + 4}" y="10" font-size="10" fill="#5b6775"><xsl:value-of select="/report/@previous-period"/> (before)</text>
        <text x="{format-number($x0 + $npweeks * $bw + 4, '0.0')}" y="10" font-size="10" fill="#1f5fa8" font-weight="bold"><xsl:value-of select="/report/@period"/></text>
        <!-- y gridlines -->
        <xsl:for-each select="$t/tick">
          <xsl:variable name="gy" select="format-number($y0 + $ph - (@value - $min) div $range * $ph, '0.0')"/>
          <line x1="{$x0}" y1="{$gy}" x2="{$x0 + $pw}" y2="{$gy}" stroke="#dfe3e8" stroke-width="0.8"></line>
          <text x="{$x0 - 4}" y="{$gy + 3.5}" font-size="10.5" text-anchor="end" fill="#5b6775"><xsl:value-of select="@label"/></text>
        </xsl:for-each>
        <!-- baseline and target -->
        <xsl:if test="@baseline-value and @baseline-value &gt;= $min and @baseline-value &lt;= $t/@max">
          <xsl:variable name="by" select="format-number($y0 + $ph - (@baseline-value - $min) div $range * $ph, '0.0')"/>
          <line x1="{$x0}" y1="{$by}" x2="{$x0 + $pw}" y2="{$by}" stroke="#7d8894" stroke-dasharray="1.5,2.5" stroke-width="1.2"></line>
          <text x="{$x0 + 3}" y="{$by - 3}" font-size="9.5" fill="#5b6775">baseline <xsl:value-of select="@baseline"/></text>
        </xsl:if>
        <xsl:if test="@target-value and @target-value &gt;= $min and @target-value &lt;= $t/@max">
          <xsl:variable name="ty" select="format-number($y0 + $ph - (@target-value - $min) div $range * $ph, '0.0')"/>
          <line x1="{$x0}" y1="{$ty}" x2="{$x0 + $pw}" y2="{$ty}" stroke="#1d2733" stroke-dasharray="5,4"></line>
          <text x="{$x0 + $pw - 2}" y="{$ty - 3}" font-size="9.5" text-anchor="end" fill="#1d2733">target <xsl:value-of select="@target"/></text>
        </xsl:if>
        <!-- deployments -->
        <!-- deployments: a line in the plot, labelled in the band above it -->
        <xsl:for-each select="/report/markers/marker">
          <xsl:variable name="mx" select="format-number($x0 + @x * $bw, '0.0')"/>
          <xsl:variable name="ly" select="22 + (position() - 1) * 10"/>
          <line x1="{$mx}" y1="{$ly + 2}" x2="{$mx}" y2="{$y0 + $ph}" stroke="#c77c02" stroke-width="1.1"></line>
          <text x="{$mx + 3}" y="{$ly}" font-size="9" fill="#8a5a00"><xsl:value-of select="@label"/>, <xsl:value-of select="@date"/></text>
        </xsl:for-each>
        <!-- axes -->
        <line x1="{$x0}" y1="{$y0 + $ph}" x2="{$x0 + $pw}" y2="{$y0 + $ph}" stroke="#9aa5b1"></line>
        <line x1="{$x0}" y1="{$y0}" x2="{$x0}" y2="{$y0 + $ph}" stroke="#9aa5b1"></line>
        <!-- the weekly line: previous period grey, current blue; full weeks only -->
        <polyline fill="none" stroke="#9aa5b1" stroke-width="1.8">
          <xsl:attribute name="points">
            <xsl:for-each select="$t/point[@period='previous' and @available='true' and @partial='false']">
              <xsl:value-of select="format-number($x0 + (@x + 0.5) * $bw, '0.0')"/>,<xsl:value-of select="format-number($y0 + $ph - (@value - $min) div $range * $ph, '0.0')"/>
              <xsl:text> </xsl:text>
            </xsl:for-each>
          </xsl:attribute>
        </polyline>
        <polyline fill="none" stroke="#1f5fa8" stroke-width="2">
          <xsl:attribute name="points">
            <xsl:for-each select="$t/point[@period='current' and @available='true' and @partial='false']">
              <xsl:value-of select="format-number($x0 + (@x + 0.5) * $bw, '0.0')"/>,<xsl:value-of select="format-number($y0 + $ph - (@value - $min) div $range * $ph, '0.0')"/>
              <xsl:text> </xsl:text>
            </xsl:for-each>
          </xsl:attribute>
        </polyline>
        <xsl:for-each select="$t/point[@available='true']">
          <xsl:variable name="px" select="format-number($x0 + (@x + 0.5) * $bw, '0.0')"/>
          <xsl:variable name="py" select="format-number($y0 + $ph - (@value - $min) div $range * $ph, '0.0')"/>
          <xsl:variable name="col"><xsl:choose><xsl:when test="@period='previous'">#9aa5b1</xsl:when><xsl:otherwise>#1f5fa8</xsl:otherwise></xsl:choose></xsl:variable>
          <xsl:choose>
            <xsl:when test="@partial='true'"><circle cx="{$px}" cy="{$py}" r="2.6" fill="#fff" stroke="{$col}" stroke-width="1.2"></circle></xsl:when>
            <xsl:otherwise><circle cx="{$px}" cy="{$py}" r="2.2" fill="{$col}"></circle></xsl:otherwise>
          </xsl:choose>
          <!-- the current period's values, every other week (and the last full one) -->
          <xsl:if test="@period='current' and @partial='false' and (@week mod 2 = 1 or not(following-sibling::point[@period='current' and @partial='false' and @available='true']))">
            <text x="{$px}" y="{$py - 5}" font-size="9" text-anchor="middle" fill="#1f5fa8"><xsl:value-of select="@display"/></text>
          </xsl:if>
        </xsl:for-each>
        <!-- dated x axis: the first day of every second or third week -->
        <xsl:for-each select="$t/point">
          <xsl:if test="@x mod $every = 0">
            <xsl:variable name="lx" select="format-number($x0 + (@x + 0.5) * $bw, '0.0')"/>
            <line x1="{$lx}" y1="{$y0 + $ph}" x2="{$lx}" y2="{$y0 + $ph + 3}" stroke="#9aa5b1"></line>
            <text x="{$lx}" y="{$y0 + $ph + 14}" font-size="10" text-anchor="middle" fill="#5b6775"><xsl:value-of select="@label"/></text>
          </xsl:if>
        </xsl:for-each>
        <text x="{$x0 + $pw}" y="{$y0 + $ph + 28}" font-size="9" text-anchor="end" fill="#5b6775">week starting (UTC)</text>
      </svg>
      <div class="foot">
        <xsl:if test="$t/point[@partial='true' and @available='true']">
          Partial week<xsl:if test="count($t/point[@partial='true' and @available='true']) &gt; 1">s</xsl:if>:
          <xsl:for-each select="$t/point[@partial='true' and @available='true']"><xsl:value-of select="@label"/> (<xsl:value-of select="@days"/> d, <xsl:value-of select="@display"/>)<xsl:if test="position() != last()">, </xsl:if></xsl:for-each>.
        </xsl:if>
        <xsl:if test="$t/point[@period='current' and @available='false']"> No value for <xsl:value-of select="count($t/point[@period='current' and @available='false'])"/> week(s) of <xsl:value-of select="/report/@period"/>.</xsl:if>
      </div>
    </div>
  </xsl:template>

  <!-- Stacked bar: satisfied / not satisfied / rule without evidence / no rule. -->
  <xsl:template name="stack">
    <xsl:variable name="tot" select="@in-scope"/>
    <svg width="100%" height="20" viewBox="0 0 400 20" preserveAspectRatio="none" role="img">
      <xsl:choose>
        <xsl:when test="$tot &gt; 0">
          <xsl:variable name="a" select="@satisfied div $tot * 400"/>
          <xsl:variable name="b" select="@not-satisfied div $tot * 400"/>
          <xsl:variable name="c" select="@no-evidence div $tot * 400"/>
          <rect x="0" y="2" width="{$a}" height="16" fill="#1e8a4c"></rect>
          <rect x="{$a}" y="2" width="{$b}" height="16" fill="#c0392b"></rect>
          <rect x="{$a + $b}" y="2" width="{$c}" height="16" fill="#e0a84a"></rect>
          <rect x="{$a + $b + $c}" y="2" width="{400 - $a - $b - $c}" height="16" fill="#d5dae0"></rect>
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
