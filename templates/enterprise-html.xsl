<?xml version="1.0" encoding="UTF-8"?>
<!-- enterprise-html.xsl: the enterprise report, from the central tier's
     document (root <enterprise>, see docs/central.md). Self-contained: inline
     CSS, no scripts, no external assets; prints on A4.
     Swap it with the template option of `auditd report` (enterprise scope). -->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:output method="html" encoding="UTF-8" indent="no" doctype-system="about:legacy-compat"/>

  <xsl:template match="/enterprise">
    <html lang="en">
      <head>
        <meta charset="utf-8"/>
        <meta name="viewport" content="width=device-width, initial-scale=1"/>
        <title>Enterprise report — <xsl:value-of select="@period"/></title>
        <style>
          :root { --ink:#1d2733; --muted:#5b6775; --line:#d9dee4; --bg:#f5f7f9; --ok:#1e8a4c; --bad:#c0392b; --warn:#c77c02; --na:#8a949e; --accent:#1f5fa8; }
          * { box-sizing: border-box; }
          body { margin:0; font: 14px/1.45 "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color:var(--ink); background:var(--bg); }
          main { max-width: 1180px; margin: 0 auto; padding: 28px 32px 48px; background:#fff; }
          header.top { border-bottom: 3px solid var(--accent); padding-bottom: 14px; margin-bottom: 20px; }
          header.top h1 { margin: 0 0 4px; font-size: 24px; }
          h2 { font-size: 18px; margin: 30px 0 10px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
          .muted { color: var(--muted); } .small { font-size: 12px; }
          table { width: 100%; border-collapse: collapse; margin: 6px 0 10px; }
          th, td { text-align: left; padding: 5px 7px; border-bottom: 1px solid var(--line); vertical-align: top; font-size: 12.5px; }
          th { color: var(--muted); font-weight: 600; background: var(--bg); }
          td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
          td.total { font-weight: 600; background: #eef3f9; }
          tr { break-inside: avoid; page-break-inside: avoid; }
          .pill { display:inline-block; padding: 1px 8px; border-radius: 10px; font-size: 11px; font-weight: 600; color:#fff; white-space: nowrap; }
          .met, .ok { background: var(--ok); } .missed, .integrity-alert { background: var(--bad); } .na, .n\/a { background: var(--na); }
          .no-target { background: var(--accent); } .incomplete { background: var(--warn); }
          .sev-critical { background:#7b1020; } .sev-high { background: var(--bad); } .sev-medium { background: var(--warn); } .sev-low { background: var(--na); }
          .better { color: var(--ok); } .worse { color: var(--bad); } .flat { color: var(--muted); }
          .cards { display: grid; grid-template-columns: repeat(4, 1fr); gap: 12px; }
          .card { border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; }
          .card .big { font-size: 26px; font-weight: 600; }
          @media print { body { background:#fff; } main { padding: 0; } }
        </style>
      </head>
      <body>
        <main>
          <header class="top">
            <h1>Enterprise report — <xsl:value-of select="@period"/></h1>
            <div class="muted"><xsl:value-of select="@from"/> to <xsl:value-of select="@to"/>;
              <xsl:value-of select="@sites"/> sites; as of <xsl:value-of select="@as-of"/>.
              Totals are computed from the sum of the sites' numerators and denominators,
              never by averaging ratios; each site is compared with its own baseline period.</div>
          </header>

          <div class="cards">
            <div class="card"><div class="muted small">Sites</div><div class="big"><xsl:value-of select="@sites"/></div>
              <div class="small"><xsl:value-of select="count(sites/site[@status='ok'])"/> complete,
                <xsl:value-of select="count(sites/site[@status='integrity-alert'])"/> with an integrity alert</div></div>
            <div class="card"><div class="muted small">Findings</div><div class="big"><xsl:value-of select="findings/@total"/></div>
              <div class="small"><xsl:value-of select="findings/@critical"/> critical, <xsl:value-of select="findings/@high"/> high</div></div>
            <xsl:for-each select="compliance/framework">
              <div class="card"><div class="muted small"><xsl:value-of select="@name"/></div>
                <div class="big"><xsl:value-of select="@share"/><xsl:if test="@share != 'n/a'">%</xsl:if></div>
                <div class="small"><xsl:value-of select="@satisfied"/> of <xsl:value-of select="@in-scope"/> controls satisfied</div></div>
            </xsl:for-each>
          </div>

          <h2>Sites</h2>
          <table>
            <tr><th>Site</th><th>Status</th><th class="num">Entries mirrored</th><th class="num">Checkpoint cited</th><th>Cosigned by the centre</th><th>Baseline period</th><th class="num">Findings</th></tr>
            <xsl:for-each select="sites/site">
              <tr>
                <td><b><xsl:value-of select="@label"/></b><br/><span class="muted small"><xsl:value-of select="@origin"/></span>
                  <xsl:if test="@problem != ''"><br/><span class="small"><xsl:value-of select="@problem"/></span></xsl:if></td>
                <td><span class="pill {@status}"><xsl:value-of select="@status"/></span></td>
                <td class="num"><xsl:value-of select="@entries"/></td>
                <td class="num"><xsl:value-of select="@checkpoint"/></td>
                <td><xsl:value-of select="@cosigned"/></td>
                <td><xsl:value-of select="@baseline-period"/></td>
                <td class="num"><xsl:value-of select="@findings"/></td>
              </tr>
            </xsl:for-each>
          </table>

          <h2>KPIs per site and in total</h2>
          <table>
            <tr><th>KPI</th><th>Site</th><th class="num">Value</th><th class="num">Baseline</th><th class="num">Change</th><th>Target</th><th>Owner</th></tr>
            <xsl:for-each select="kpis/kpi">
              <tr>
                <td class="total" rowspan="{count(site) + 1}"><b><xsl:value-of select="@name"/></b><br/><span class="muted small"><xsl:value-of select="@unit"/></span>
                  <xsl:for-each select="total/term"><br/><span class="muted small"><xsl:value-of select="@role"/>: <xsl:value-of select="@value"/></span></xsl:for-each></td>
                <td class="total">Enterprise</td>
                <td class="num total"><xsl:value-of select="total/@display"/></td>
                <td class="num total"><xsl:value-of select="total/@baseline"/></td>
                <td class="num total {total/@direction}"><xsl:value-of select="total/@change"/></td>
                <td class="total"><span class="pill {total/@status}"><xsl:value-of select="total/@status"/></span><xsl:text> </xsl:text><span class="small"><xsl:value-of select="@target"/></span></td>
                <td class="total"></td>
              </tr>
              <xsl:for-each select="site">
                <tr>
                  <td><xsl:value-of select="@label"/></td>
                  <td class="num"><xsl:value-of select="@display"/></td>
                  <td class="num"><xsl:value-of select="@baseline"/></td>
                  <td class="num {@direction}"><xsl:value-of select="@change"/></td>
                  <td><span class="pill {@status}"><xsl:value-of select="@status"/></span></td>
                  <td><xsl:value-of select="@owner"/></td>
                </tr>
              </xsl:for-each>
            </xsl:for-each>
          </table>

          <h2>Compliance posture per site and framework</h2>
          <table>
            <tr><th>Site</th><th>Framework</th><th class="num">In scope</th><th class="num">With a rule</th><th class="num">Satisfied</th><th class="num">Not satisfied</th><th class="num">No evidence</th><th class="num">Satisfied</th></tr>
            <xsl:for-each select="compliance/framework">
              <tr><td class="total">Enterprise</td><td class="total"><xsl:value-of select="@name"/></td>
                <td class="num total"><xsl:value-of select="@in-scope"/></td><td class="num total"><xsl:value-of select="@with-rules"/></td>
                <td class="num total"><xsl:value-of select="@satisfied"/></td><td class="num total"><xsl:value-of select="@not-satisfied"/></td>
                <td class="num total"><xsl:value-of select="@no-evidence"/></td><td class="num total"><xsl:value-of select="@share"/>%</td></tr>
            </xsl:for-each>
            <xsl:for-each select="sites/site">
              <xsl:variable name="label" select="@label"/>
              <xsl:for-each select="framework">
                <tr><td><xsl:value-of select="$label"/></td><td><xsl:value-of select="@name"/></td>
                  <td class="num"><xsl:value-of select="@in-scope"/></td><td class="num"><xsl:value-of select="@with-rules"/></td>
                  <td class="num"><xsl:value-of select="@satisfied"/></td><td class="num"><xsl:value-of select="@not-satisfied"/></td>
                  <td class="num"><xsl:value-of select="@no-evidence"/></td><td class="num"><xsl:value-of select="@share"/><xsl:if test="@share != 'n/a'">%</xsl:if></td></tr>
              </xsl:for-each>
            </xsl:for-each>
          </table>

          <h2>Findings and their owners</h2>
          <p class="muted small">Each finding cites site ledger entries (#index) with an RFC 6962 inclusion proof
            against the site's checkpoint cosigned by the centre as its witness; the proofs, the entries and the
            cosigned checkpoints are in the JSON and OSCAL forms of this report.</p>
          <table>
            <tr><th>Severity</th><th>Site</th><th>Control</th><th>What</th><th>Owner</th><th>Entries cited</th></tr>
            <xsl:for-each select="findings/finding[position() &lt;= 200]">
              <tr>
                <td><span class="pill sev-{@severity}"><xsl:value-of select="@severity"/></span></td>
                <td><xsl:value-of select="@site"/></td>
                <td><xsl:value-of select="@framework"/><xsl:text> </xsl:text><xsl:value-of select="@control"/></td>
                <td><b><xsl:value-of select="@title"/></b><br/><xsl:value-of select="."/></td>
                <td><xsl:value-of select="@owner"/></td>
                <td class="small"><xsl:value-of select="@entries"/><br/><span class="muted">tree <xsl:value-of select="@tree-size"/>, <xsl:value-of select="@proven"/></span></td>
              </tr>
            </xsl:for-each>
          </table>
          <xsl:if test="count(findings/finding) &gt; 200">
            <p class="muted small">The first 200 of <xsl:value-of select="findings/@total"/> findings, most severe first; all of them are in the JSON and OSCAL forms.</p>
          </xsl:if>
          <p class="muted small">Witness: <xsl:value-of select="@witness-key"/></p>
        </main>
      </body>
    </html>
  </xsl:template>
</xsl:stylesheet>
