package site

// style is the site's one stylesheet: system fonts, light and dark, and
// tables that turn into stacked rows on a phone. No JavaScript anywhere.
const style = `:root{--bg:#fff;--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--card:#f6f8fa;
--ok:#1a7f37;--bad:#cf222e;--cancel:#6e7781;--lost:#bc4c00;--link:#0969da}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--muted:#9198a1;--line:#3d444d;--card:#151b23;
--ok:#3fb950;--bad:#f85149;--cancel:#9198a1;--lost:#db6d28;--link:#4493f8}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif}
header{border-bottom:1px solid var(--line);padding:.6rem 1rem;background:var(--card)}
header a{font-weight:600}
main{max-width:72rem;margin:0 auto;padding:1rem}
footer{max-width:72rem;margin:0 auto;padding:1rem;color:var(--muted);font-size:.85rem;border-top:1px solid var(--line)}
a{color:var(--link);text-decoration:none}a:hover{text-decoration:underline}
h1{font-size:1.6rem;margin:.2rem 0 .8rem;overflow-wrap:anywhere}h2{font-size:1.2rem;margin:1.2rem 0 .5rem}h3{font-size:1rem;margin:.6rem 0 .3rem;color:var(--muted)}
h1 .on{color:var(--muted);font-weight:400}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.9em}
.meta{color:var(--muted);font-size:.9rem;margin:.2rem 0}
.empty{color:var(--muted)}
.card{border:1px solid var(--line);border-radius:8px;padding:.4rem 1rem .8rem;margin:0 0 1rem;background:var(--card)}
.card h2{margin:.4rem 0 0;display:flex;flex-wrap:wrap;gap:.5rem;align-items:center}
.cols{display:grid;grid-template-columns:repeat(auto-fit,minmax(16rem,1fr));gap:0 1.5rem}
ul.latest{list-style:none;margin:0;padding:0}
ul.latest li{padding:.25rem 0;border-bottom:1px solid var(--line);display:flex;flex-wrap:wrap;gap:.5rem;align-items:center}
ul.latest li:last-child{border-bottom:0}
ul.latest .name{color:var(--fg);font-weight:600;overflow-wrap:anywhere}
.chip{display:inline-block;white-space:nowrap;border-radius:1em;padding:0 .55em;font-size:.8rem;font-weight:600;color:#fff;background:var(--cancel)}
.k-success .chip,.chip.k-success{background:var(--ok)}
.k-failure .chip,.chip.k-failure,.chip.k-not-started{background:var(--bad)}
.chip.k-lost{background:var(--lost)}
.badge{vertical-align:middle}
table.runs{border-collapse:collapse;width:100%;font-size:.9rem}
table.runs th,table.runs td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid var(--line);vertical-align:top}
table.runs th{color:var(--muted);font-weight:600}
table.runs td.reason{color:var(--muted);overflow-wrap:anywhere}
tr.k-failure td.reason,tr.k-not-started td.reason,tr.k-lost td.reason{color:var(--bad)}
.outcome{font-size:1.05rem}
.outcome.k-failure,.outcome.k-not-started{color:var(--bad)}.outcome.k-lost{color:var(--lost)}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1rem;margin:0}
dl.facts dt{color:var(--muted)}dl.facts dd{margin:0;overflow-wrap:anywhere}
.sha{font-size:.85em}
pre.log{background:var(--card);border:1px solid var(--line);border-radius:6px;padding:.7rem;overflow-x:auto;white-space:pre-wrap;overflow-wrap:anywhere;max-height:70vh;overflow-y:auto}
@media (max-width:40rem){
 main{padding:.7rem}
 table.runs thead{display:none}
 table.runs,table.runs tbody,table.runs tr,table.runs td{display:block;width:100%}
 table.runs tr{border-bottom:1px solid var(--line);padding:.4rem 0}
 table.runs td{border:0;padding:.05rem 0;display:inline-block;width:auto;margin-right:.6rem;white-space:nowrap}
 table.runs td.reason{display:block;white-space:normal}
 dl.facts{gap:.2rem .8rem}
}
`
