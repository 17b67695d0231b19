"use client";

import { useEffect, useRef, useState } from "react";
import { api, problemMessage } from "@/lib/api";
import type { components } from "@/api/schema";

type ToolCall = components["schemas"]["ToolCallPublic"];
type Line = { id: string; role: "user" | "assistant"; content: string; toolCalls: ToolCall[]; failed?: boolean };

const KEY = "taskstream.conversation";
const SUGGESTIONS = ["Remind me to call mum tomorrow at 6pm", "What's due this week?", "Add water the plants every Monday"];

const VERB: Record<string, string> = {
  add_task: "Added",
  update_task: "Changed",
  complete_task: "Completed",
  delete_task: "Deleted",
  set_reminder: "Reminder set",
  list_tasks: "Looked up tasks",
};

function summary(call: ToolCall): string {
  const verb = VERB[call.name] ?? call.name.replace(/_/g, " ");
  const result = call.result as Record<string, unknown> | null;
  const title =
    (result && typeof result.title === "string" && result.title) ||
    (typeof call.arguments.title === "string" && call.arguments.title) ||
    (result && Array.isArray(result.tasks) ? `${result.tasks.length} found` : "") ||
    "";
  return title ? `${verb}: ${title}` : verb;
}

/** The assistant beside the list: what it said, and under each answer what it did. */
export function ChatPanel({ onActed, onClose }: { onActed: () => void; onClose?: () => void }) {
  const [conversation, setConversation] = useState<string | null>(null);
  const [lines, setLines] = useState<Line[]>([]);
  const [text, setText] = useState("");
  const [busy, setBusy] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const end = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const saved = window.localStorage.getItem(KEY);
    if (!saved) return;
    // eslint-disable-next-line react-hooks/set-state-in-effect -- the conversation id is kept in the browser
    setConversation(saved);
    api
      .GET("/api/v1/conversations/{conversation_id}/messages", { params: { path: { conversation_id: saved }, query: { limit: 50 } } })
      .then(({ data }) => {
        if (!data) {
          window.localStorage.removeItem(KEY);
          setConversation(null);
          return;
        }
        setLines(
          data.data
            .filter((m) => m.role === "user" || m.role === "assistant")
            .map((m) => ({ id: m.id, role: m.role as Line["role"], content: m.content, toolCalls: m.tool_calls })),
        );
      });
  }, []);

  useEffect(() => {
    end.current?.scrollIntoView({ block: "end" });
  }, [lines, busy]);

  async function send(message: string) {
    const said = message.trim();
    if (!said || busy) return;
    setText("");
    setBusy(true);
    setLines((all) => [...all, { id: `u${Date.now()}`, role: "user", content: said, toolCalls: [] }]);
    try {
      const { data, error } = await api.POST("/api/v1/chat", { body: { message: said, conversation_id: conversation } });
      if (!data) {
        setLines((all) => [...all, { id: `e${Date.now()}`, role: "assistant", content: problemMessage(error, "The assistant could not answer."), toolCalls: [], failed: true }]);
        return;
      }
      setConversation(data.conversation_id);
      window.localStorage.setItem(KEY, data.conversation_id);
      setConfirming(data.awaiting_confirmation);
      setLines((all) => [...all, { id: `a${Date.now()}`, role: "assistant", content: data.response, toolCalls: data.tool_calls }]);
      if (data.tool_calls.some((c) => c.name !== "list_tasks")) onActed();
    } catch {
      setLines((all) => [...all, { id: `e${Date.now()}`, role: "assistant", content: "The server does not answer. Try again in a moment.", toolCalls: [], failed: true }]);
    } finally {
      setBusy(false);
    }
  }

  function restart() {
    window.localStorage.removeItem(KEY);
    setConversation(null);
    setLines([]);
    setConfirming(false);
  }

  return (
    <section aria-label="Assistant" className="flex h-full flex-col overflow-hidden rounded-2xl border border-slate-200 bg-white shadow-sm dark:border-slate-800 dark:bg-slate-900">
      <div className="flex items-center gap-2 border-b border-slate-200 px-4 py-3 dark:border-slate-800">
        <span aria-hidden="true" className="flex h-7 w-7 items-center justify-center rounded-full bg-gradient-to-br from-indigo-500 to-fuchsia-500 text-sm text-white">
          ✦
        </span>
        <h2 className="text-sm font-semibold">Assistant</h2>
        <div className="ml-auto flex items-center gap-1">
          {lines.length > 0 && (
            <button type="button" onClick={restart} className="rounded-md px-2 py-1 text-xs font-medium text-slate-600 hover:bg-slate-100 dark:text-slate-300 dark:hover:bg-slate-800">
              New chat
            </button>
          )}
          {onClose && (
            <button type="button" onClick={onClose} aria-label="Close the assistant" className="rounded-md px-2 py-1 text-slate-500 hover:bg-slate-100 dark:hover:bg-slate-800">
              ×
            </button>
          )}
        </div>
      </div>
      <div className="min-h-0 flex-1 space-y-3 overflow-y-auto px-4 py-4" aria-live="polite" data-testid="chat-log">
        {lines.length === 0 && (
          <div className="space-y-3 text-sm text-slate-600 dark:text-slate-400">
            <p>Ask in your own words: add, change, complete or find tasks, set reminders and repeats.</p>
            <div className="flex flex-col items-start gap-2">
              {SUGGESTIONS.map((s) => (
                <button key={s} type="button" onClick={() => void send(s)} className="rounded-full border border-slate-300 px-3 py-1 text-left text-xs font-medium text-slate-700 hover:bg-slate-50 dark:border-slate-700 dark:text-slate-300 dark:hover:bg-slate-800">
                  {s}
                </button>
              ))}
            </div>
          </div>
        )}
        {lines.map((line) => (
          <div key={line.id} className={line.role === "user" ? "flex justify-end" : "flex justify-start"}>
            <div
              data-testid={line.role === "assistant" ? "assistant-message" : "user-message"}
              className={`max-w-[88%] rounded-2xl px-3.5 py-2 text-sm ${
                line.role === "user"
                  ? "rounded-br-md bg-indigo-600 text-white"
                  : line.failed
                    ? "rounded-bl-md bg-red-50 text-red-900 dark:bg-red-950 dark:text-red-100"
                    : "rounded-bl-md bg-slate-100 text-slate-900 dark:bg-slate-800 dark:text-slate-100"
              }`}
            >
              <p className="whitespace-pre-wrap">{line.content}</p>
              {line.toolCalls.length > 0 && (
                <ul className="mt-2 space-y-1 border-t border-slate-200 pt-2 dark:border-slate-700" aria-label="What the assistant did">
                  {line.toolCalls.map((call, i) => (
                    <li key={i} data-testid="tool-call" className={`flex items-center gap-1.5 text-xs ${call.error ? "text-red-700 dark:text-red-400" : "text-slate-600 dark:text-slate-300"}`}>
                      <span aria-hidden="true">{call.error ? "⚠" : "✓"}</span>
                      <span>{call.error ? `${call.name.replace(/_/g, " ")}: ${String(call.error.message ?? "refused")}` : summary(call)}</span>
                    </li>
                  ))}
                </ul>
              )}
            </div>
          </div>
        ))}
        {busy && (
          <p className="text-xs text-slate-500 dark:text-slate-400" role="status">
            The assistant is on it…
          </p>
        )}
        <div ref={end} />
      </div>
      {confirming && !busy && (
        <div className="flex gap-2 px-4 pb-2">
          <button type="button" onClick={() => void send("yes")} className="rounded-full bg-indigo-600 px-3 py-1 text-xs font-semibold text-white hover:bg-indigo-500">
            Yes
          </button>
          <button type="button" onClick={() => void send("no")} className="rounded-full border border-slate-300 px-3 py-1 text-xs font-semibold dark:border-slate-700">
            No
          </button>
        </div>
      )}
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void send(text);
        }}
        className="flex items-end gap-2 border-t border-slate-200 p-3 dark:border-slate-800"
      >
        <label htmlFor="chat-input" className="sr-only">
          Message to the assistant
        </label>
        <textarea
          id="chat-input"
          rows={1}
          value={text}
          onChange={(e) => setText(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === "Enter" && !e.shiftKey) {
              e.preventDefault();
              void send(text);
            }
          }}
          placeholder="Ask the assistant…"
          className="max-h-32 min-h-[38px] flex-1 resize-none rounded-lg border border-slate-300 bg-white px-3 py-2 text-sm focus:border-indigo-500 focus:outline-none focus:ring-2 focus:ring-indigo-500/30 dark:border-slate-700 dark:bg-slate-950"
        />
        <button type="submit" disabled={busy || !text.trim()} className="rounded-lg bg-indigo-600 px-3.5 py-2 text-sm font-semibold text-white hover:bg-indigo-500 disabled:opacity-50">
          Send
        </button>
      </form>
    </section>
  );
}
