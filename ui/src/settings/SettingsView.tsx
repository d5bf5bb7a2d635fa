// The settings page: model providers (base URLs and keys), model aliases, and the defaults.
// A key is typed into a password field that React does not hold: it is read when the person
// sets it, sent to the backend, and the field is cleared at once.

import { useCallback, useEffect, useRef, useState } from "react";

import { commands } from "../bindings";
import type { ProviderView, SettingsView as Settings } from "../bindings";
import { errorText } from "../format";
import "../results/results.css";

/** An alias row being edited; `id` keeps React's rows stable while names change. */
interface AliasRow {
  id: number;
  name: string;
  model: string;
}

let nextAliasId = 1;
const aliasRows = (view: Settings): AliasRow[] => view.aliases.map((a) => ({ id: nextAliasId++, name: a.name, model: a.model }));

export function SettingsView(props: { onClose: () => void }) {
  const [view, setView] = useState<Settings | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  // The form: base URLs only for providers whose URL was edited.
  const [urls, setUrls] = useState<Record<string, string>>({});
  const [aliases, setAliases] = useState<AliasRow[]>([]);
  const [defaultModel, setDefaultModel] = useState("");
  const [orchestrator, setOrchestrator] = useState("");
  const [personality, setPersonality] = useState("");
  // Per provider: the last sentence of setting or removing its key, and whether that is under way.
  const [keyNotes, setKeyNotes] = useState<Record<string, string>>({});
  const [keyBusy, setKeyBusy] = useState<string | null>(null);
  const keyInputs = useRef<Record<string, HTMLInputElement | null>>({});
  const mounted = useRef(true);

  useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false;
    };
  }, []);

  /** Shows a settings view and resets the form to it. */
  const show = useCallback((next: Settings) => {
    setView(next);
    setUrls({});
    setAliases(aliasRows(next));
    setDefaultModel(next.default_model ?? "");
    setOrchestrator(next.orchestrator ?? "");
    setPersonality(next.personality ?? "");
  }, []);

  useEffect(() => {
    commands.settings().then(
      (next) => {
        if (mounted.current) show(next);
      },
      (e: unknown) => {
        if (mounted.current) setError(errorText(e));
      },
    );
  }, [show]);

  /** Reads the providers again (after a key changed), keeping the rest of the form as edited. */
  const refreshProviders = async () => {
    try {
      const next = await commands.settings();
      if (mounted.current) setView((v) => (v ? { ...v, providers: next.providers } : next));
    } catch (e) {
      if (mounted.current) setError(errorText(e));
    }
  };

  const setKey = async (provider: ProviderView) => {
    const input = keyInputs.current[provider.name];
    if (!input) return;
    const key = input.value.trim();
    // The key leaves the field now, whatever happens next.
    input.value = "";
    if (!key) {
      setKeyNotes((n) => ({ ...n, [provider.name]: "Type or paste a key first." }));
      return;
    }
    setKeyBusy(provider.name);
    setError(null);
    try {
      const sentence = await commands.setKey(provider.name, key);
      if (!mounted.current) return;
      setKeyNotes((n) => ({ ...n, [provider.name]: sentence }));
      await refreshProviders();
    } catch (e) {
      if (mounted.current) setError(errorText(e));
    } finally {
      if (mounted.current) setKeyBusy(null);
    }
  };

  const removeKey = async (provider: ProviderView) => {
    setKeyBusy(provider.name);
    setError(null);
    try {
      const sentence = await commands.removeKey(provider.name);
      if (!mounted.current) return;
      setKeyNotes((n) => ({ ...n, [provider.name]: sentence }));
      await refreshProviders();
    } catch (e) {
      if (mounted.current) setError(errorText(e));
    } finally {
      if (mounted.current) setKeyBusy(null);
    }
  };

  const save = async () => {
    if (!view) return;
    setSaving(true);
    setError(null);
    setNotice(null);
    const base_urls = Object.entries(urls)
      .filter(([name, url]) => view.providers.find((p) => p.name === name)?.base_url !== url)
      .map(([name, url]) => ({ name, base_url: url.trim() }));
    const orNull = (s: string) => (s.trim() === "" ? null : s.trim());
    try {
      const next = await commands.saveSettings({
        base_urls,
        aliases: aliases
          .filter((a) => a.name.trim() !== "" || a.model.trim() !== "")
          .map((a) => ({ name: a.name.trim(), model: a.model.trim() })),
        default_model: orNull(defaultModel),
        orchestrator: orNull(orchestrator),
        personality: orNull(personality),
      });
      if (!mounted.current) return;
      show(next);
      setNotice("Settings saved.");
    } catch (e) {
      if (mounted.current) setError(errorText(e));
    } finally {
      if (mounted.current) setSaving(false);
    }
  };

  const updateAlias = (id: number, change: Partial<AliasRow>) =>
    setAliases((rows) => rows.map((r) => (r.id === id ? { ...r, ...change } : r)));

  return (
    <div className="set-page" data-testid="settings">
      <div className="set-head">
        <h2>Settings</h2>
        <button type="button" className="res-button" onClick={props.onClose}>
          Close
        </button>
      </div>
      {error && (
        <div className="res-alert" role="alert">
          <span>{error}</span>
          <button type="button" className="res-link res-alert-close" aria-label="Dismiss" onClick={() => setError(null)}>
            ×
          </button>
        </div>
      )}
      {notice && (
        <p className="set-notice" role="status">
          {notice}
        </p>
      )}
      {!view ? (
        !error && <p className="res-muted">Loading settings…</p>
      ) : (
        <form
          className="set-form"
          autoComplete="off"
          onSubmit={(e) => {
            e.preventDefault();
            void save();
          }}
        >
          <section className="set-section">
            <h3>Providers</h3>
            <p className="res-muted">{view.key_storage}</p>
            <table className="res-table set-providers">
              <thead>
                <tr>
                  <th scope="col">Provider</th>
                  <th scope="col">API</th>
                  <th scope="col">Base URL</th>
                  <th scope="col">Key</th>
                </tr>
              </thead>
              <tbody>
                {view.providers.map((p) => (
                  <tr key={p.name} data-testid={`provider-${p.name}`}>
                    <th scope="row">
                      <code>{p.name}</code>
                    </th>
                    <td>{p.api}</td>
                    <td>
                      <input
                        type="text"
                        className="set-input set-url"
                        aria-label={`Base URL of ${p.name}`}
                        value={urls[p.name] ?? p.base_url}
                        spellCheck={false}
                        onChange={(e) => setUrls((u) => ({ ...u, [p.name]: e.target.value }))}
                      />
                    </td>
                    <td className="set-key-cell">
                      <p className={p.key_set ? "set-key-ok" : "set-key-missing"}>
                        {p.key_set ? "✓ " : ""}
                        {p.key}
                      </p>
                      <div className="set-key-row">
                        <input
                          type="password"
                          className="set-input set-key-input"
                          aria-label={`Key of ${p.name}`}
                          placeholder={p.key_set ? "New key" : "Paste a key"}
                          autoComplete="new-password"
                          spellCheck={false}
                          ref={(el) => {
                            keyInputs.current[p.name] = el;
                          }}
                          onKeyDown={(e) => {
                            if (e.key === "Enter") {
                              e.preventDefault();
                              void setKey(p);
                            }
                          }}
                        />
                        <button type="button" className="res-button res-small" disabled={keyBusy !== null} onClick={() => void setKey(p)}>
                          {p.key_set ? "Replace key" : "Set key"}
                        </button>
                        {p.key_set && (
                          <button type="button" className="res-button res-small" disabled={keyBusy !== null} onClick={() => void removeKey(p)}>
                            Remove key
                          </button>
                        )}
                      </div>
                      {keyNotes[p.name] && (
                        <p className="set-key-note" role="status">
                          {keyNotes[p.name]}
                        </p>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>

          <section className="set-section">
            <h3>Aliases</h3>
            <p className="res-muted">A short name for a model, such as <code>smart</code> for <code>anthropic:claude-sonnet-4-5</code>.</p>
            {aliases.length === 0 && <p className="res-muted">No aliases yet.</p>}
            <ul className="set-aliases">
              {aliases.map((a, i) => (
                <li key={a.id} className="set-alias">
                  <input
                    type="text"
                    className="set-input"
                    aria-label={`Alias ${i + 1} name`}
                    placeholder="name"
                    value={a.name}
                    spellCheck={false}
                    onChange={(e) => updateAlias(a.id, { name: e.target.value })}
                  />
                  <span className="res-muted">→</span>
                  <input
                    type="text"
                    className="set-input set-grow"
                    aria-label={`Alias ${i + 1} model`}
                    placeholder="provider:model"
                    value={a.model}
                    spellCheck={false}
                    onChange={(e) => updateAlias(a.id, { model: e.target.value })}
                  />
                  <button
                    type="button"
                    className="res-button res-small"
                    aria-label={`Remove alias ${a.name || i + 1}`}
                    onClick={() => setAliases((rows) => rows.filter((r) => r.id !== a.id))}
                  >
                    Remove
                  </button>
                </li>
              ))}
            </ul>
            <button
              type="button"
              className="res-button res-small"
              onClick={() => setAliases((rows) => [...rows, { id: nextAliasId++, name: "", model: "" }])}
            >
              Add alias
            </button>
          </section>

          <section className="set-section">
            <h3>Defaults</h3>
            <TextSetting label="Default model" value={defaultModel} hint="the model of an LLM step that names none" onChange={setDefaultModel} />
            <TextSetting label="Orchestrator model" value={orchestrator} hint="the model that drafts, explains and judges" onChange={setOrchestrator} />
            <TextSetting label="Default personality" value={personality} hint="the personality of an LLM step that names none" onChange={setPersonality} />
            <p className="res-muted">
              Personalities folder: <code>{view.personalities_folder}</code>
            </p>
          </section>

          <div className="set-actions">
            <button type="submit" className="res-button res-primary" disabled={saving}>
              {saving ? "Saving…" : "Save"}
            </button>
          </div>
        </form>
      )}
    </div>
  );
}

/** One line of text in the settings page, with its label and a hint of what it means. */
function TextSetting(props: { label: string; value: string; hint: string; onChange: (value: string) => void }) {
  return (
    <label className="set-field">
      <span>{props.label}</span>
      <input
        type="text"
        className="set-input"
        value={props.value}
        placeholder={props.hint}
        spellCheck={false}
        onChange={(e) => props.onChange(e.target.value)}
      />
    </label>
  );
}
