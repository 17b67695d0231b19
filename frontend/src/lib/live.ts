"use client";
// Live updates over the WebSocket (GET /api/v1/ws): reconnects by itself with backoff,
// and comes back with the offset and epoch of the last message it saw, so the server
// replays what was missed, or says "refetch" when it cannot.
import { useEffect, useRef, useState } from "react";
import { accessToken, readTokens, refreshTokens } from "./session";
import { sessionEnded } from "./api";

export type LiveState = "connecting" | "live" | "offline";

export type LiveEvent = {
  id: string;
  type: string;
  subject?: string;
  time?: string;
  data: Record<string, unknown>;
};

export type LiveHandlers = {
  onEvent: (event: LiveEvent) => void;
  /** What was missed cannot be replayed (or this is the first connection): reload. */
  onRefetch: () => void;
};

const UNAUTHORIZED = 4401;
const PING_MS = 25_000;

export function useLive(enabled: boolean, handlers: LiveHandlers): LiveState {
  const [state, setState] = useState<LiveState>("connecting");
  const latest = useRef(handlers);
  useEffect(() => {
    latest.current = handlers;
  });

  useEffect(() => {
    if (!enabled) return;
    let socket: WebSocket | null = null;
    let stopped = false;
    let attempt = 0;
    let retry: ReturnType<typeof setTimeout> | undefined;
    let ping: ReturnType<typeof setInterval> | undefined;
    let offset: number | null = null;
    let epoch: string | null = null;

    async function connect() {
      clearTimeout(retry);
      if (stopped) return;
      setState("connecting");
      const token = await accessToken();
      if (stopped) return;
      if (!token) {
        sessionEnded();
        return;
      }
      const url = new URL("/api/v1/ws", window.location.href);
      url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
      url.searchParams.set("token", token);
      const resuming = offset !== null && epoch !== null;
      if (resuming) {
        url.searchParams.set("since", String(offset));
        url.searchParams.set("epoch", epoch!);
      }
      const ws = new WebSocket(url);
      socket = ws;
      ws.onmessage = (message) => {
        let parsed: { type?: string; offset?: number; epoch?: string; event?: LiveEvent };
        try {
          parsed = JSON.parse(String(message.data));
        } catch {
          return;
        }
        if (parsed.type === "hello") {
          attempt = 0;
          setState("live");
          if (!resuming) {
            offset = parsed.offset ?? 0;
            epoch = parsed.epoch ?? null;
            latest.current.onRefetch(); // changes between the first load and now
          }
        } else if (parsed.type === "refetch") {
          offset = null;
          epoch = null;
          latest.current.onRefetch();
        } else if (parsed.event && typeof parsed.offset === "number") {
          offset = parsed.offset;
          epoch = parsed.epoch ?? epoch;
          latest.current.onEvent(parsed.event);
        }
      };
      ws.onopen = () => {
        ping = setInterval(() => ws.readyState === WebSocket.OPEN && ws.send('{"type":"ping"}'), PING_MS);
      };
      ws.onclose = async (close) => {
        clearInterval(ping);
        if (socket !== ws || stopped) return;
        socket = null;
        setState("offline");
        if (close.code === UNAUTHORIZED) {
          const stale = readTokens();
          if (!stale || !(await refreshTokens(stale))) {
            sessionEnded();
            return;
          }
          attempt = 0;
        }
        const delay = Math.min(10_000, 250 * 2 ** attempt) * (0.75 + Math.random() / 2);
        attempt += 1;
        retry = setTimeout(connect, attempt === 1 ? 100 : delay);
      };
    }

    const now = () => {
      if (!socket) void connect();
    };
    window.addEventListener("online", now);
    void connect();
    return () => {
      stopped = true;
      clearTimeout(retry);
      clearInterval(ping);
      window.removeEventListener("online", now);
      socket?.close(1000);
    };
  }, [enabled]);

  return state;
}
