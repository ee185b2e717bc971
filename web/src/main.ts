// The dashboard's app shell: navigation, the SAE chooser, and the page for the current hash route.
import { html, render } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { get, type SaeInfo } from './api.js';
import { href, useRoute } from './router.js';
import { ErrorBox, Loading } from './components.js';
import { LatentList } from './pages/latents.js';
import { LatentPage } from './pages/latent.js';
import { PromptPage } from './pages/prompt.js';
import { ReportsPage, ReportPage } from './pages/reports.js';
import { GraphsPage, GraphPage } from './pages/graphs.js';
import { SteerPage } from './pages/steer.js';
import './style.css';

export interface ModelInfo {
  model: string;
  nCtx: number;
  vocab: number;
  organism: boolean;
}

function App() {
  const route = useRoute();
  const [saes, setSaes] = useState<SaeInfo[] | null>(null);
  const [model, setModel] = useState<ModelInfo | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    Promise.all([get('/api/saes'), get('/api/model')]).then(([s, m]) => {
      setSaes(s.saes);
      setModel(m);
    }, setError);
  }, []);
  const page = route.path[0] ?? 'latents';
  const saeParam = route.query.get('sae') ?? (page === 'latent' ? route.path[1] : undefined);
  const sae = saes ? (saes.find((s) => s.id === saeParam) ?? saes[0]) : undefined;
  const nav = (name: string, label: string, extra: Record<string, string | undefined> = {}) =>
    html`<a class=${page === name || (name === 'latents' && page === 'latent') || (name === 'reports' && page === 'report') || (name === 'graphs' && page === 'graph') ? 'active' : ''} href=${href([name], extra)}>${label}</a>`;
  let body;
  if (error) body = html`<${ErrorBox} error=${error} />`;
  else if (!saes || !model) body = html`<${Loading} />`;
  else if (page === 'latent') body = html`<${LatentPage} sae=${route.path[1]} id=${route.path[2]} saes=${saes} />`;
  else if (page === 'prompt') body = html`<${PromptPage} sae=${sae} model=${model} route=${route} />`;
  else if (page === 'steer') body = html`<${SteerPage} saes=${saes} sae=${sae} model=${model} route=${route} />`;
  else if (page === 'reports') body = html`<${ReportsPage} />`;
  else if (page === 'report') body = html`<${ReportPage} name=${route.path[1]} route=${route} />`;
  else if (page === 'graphs') body = html`<${GraphsPage} />`;
  else if (page === 'graph') body = html`<${GraphPage} name=${route.path[1]} />`;
  else body = html`<${LatentList} sae=${sae} saes=${saes} route=${route} />`;
  return html`<header>
      <span class="brand">probity</span>
      <nav>${nav('latents', 'Latents', { sae: sae?.id })}${nav('prompt', 'Prompt', { sae: sae?.id })}${nav('steer', 'Steer', { sae: sae?.id })}${nav('reports', 'Reports')}${nav('graphs', 'Graphs')}</nav>
      <span class="model dim">${model ? `${model.model} · context ${model.nCtx}` : ''}</span>
    </header>
    <main>${body}</main>`;
}

render(html`<${App} />`, document.getElementById('app')!);
