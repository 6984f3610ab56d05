import { createHmac } from 'node:crypto';
import type { Logger, RunReport, SchemeFile } from '@qiao/core';
import { diagnose } from '../lib/diagnose.js';

export type Webhook = NonNullable<NonNullable<SchemeFile['alerts']>['webhooks']>[number];

export interface AlertInput {
  scheme: string;
  name?: string | undefined;
  report: RunReport;
  /** Dead letters of the scheme right now, grouped by error code. */
  dead: { code: string; message: string; count: number }[];
  deadTotal: number;
  /** Link to the run overview page. */
  link?: string | undefined;
  reason: 'failed' | 'partial' | 'dead-letters';
}

/** One concise alert text: scheme, outcome, counts, the top error groups with their diagnosis, a link. */
export function alertText(a: AlertInput): { title: string; text: string } {
  const c = a.report.counts;
  const what =
    a.reason === 'failed' ? '运行失败 run failed' : a.reason === 'partial' ? '部分失败 run partly failed' : `死信堆积 ${a.deadTotal} dead letters`;
  const title = `qiao ${a.name ?? a.scheme}: ${what}`;
  const lines = [
    `**${title}**`,
    `方案 scheme: ${a.scheme}`,
    `读取 read ${c.read} · 新增 inserted ${c.inserted} · 更新 updated ${c.updated} · 跳过 skipped ${c.skipped} · 失败 failed ${c.failed} · 死信 dead ${a.deadTotal}`,
  ];
  if (a.report.fatal) lines.push(`停止原因 stopped: ${a.report.fatal.code}: ${a.report.fatal.message}`);
  const groups = [...a.report.errors, ...a.dead.filter((d) => !a.report.errors.some((e) => e.code === d.code))].slice(0, 3);
  for (const g of groups) {
    lines.push(`- ${g.count} × ${g.code}: ${g.message.slice(0, 120)}`);
    const d = diagnose(g.code, g.message) ?? (a.report.fatal?.code === g.code ? a.report.fatal.hint : undefined);
    if (d) lines.push(`  诊断 diagnosis: ${d}`);
  }
  if (a.report.fatal) {
    const d = diagnose(a.report.fatal.code, a.report.fatal.message) ?? a.report.fatal.hint;
    if (d) lines.push(`诊断 diagnosis: ${d}`);
  }
  if (a.link) lines.push(`运行概况 overview: ${a.link}`);
  return { title, text: lines.join('\n') };
}

/** DingTalk's signed-webhook signature: Base64(HMAC-SHA256(secret, `${timestamp}\n${secret}`)). */
export function dingtalkSign(timestamp: number, secret: string): string {
  return createHmac('sha256', secret).update(`${timestamp}\n${secret}`).digest('base64');
}

/** Feishu's signature: Base64(HMAC-SHA256 keyed with `${timestamp}\n${secret}`, over nothing). */
export function feishuSign(timestampSeconds: number, secret: string): string {
  return createHmac('sha256', `${timestampSeconds}\n${secret}`).update('').digest('base64');
}

/** The request a group robot expects for this alert. */
export function webhookRequest(hook: Webhook, alert: { title: string; text: string }, now = Date.now()): { url: string; body: unknown } {
  switch (hook.type) {
    case 'dingtalk': {
      let url = hook.url;
      if (hook.secret) {
        url += `${url.includes('?') ? '&' : '?'}timestamp=${now}&sign=${encodeURIComponent(dingtalkSign(now, hook.secret))}`;
      }
      return { url, body: { msgtype: 'markdown', markdown: { title: alert.title, text: alert.text.replace(/\n/g, '\n\n') } } };
    }
    case 'wecom':
      return { url: hook.url, body: { msgtype: 'markdown', markdown: { content: alert.text } } };
    case 'feishu': {
      const ts = Math.floor(now / 1000);
      const body: Record<string, unknown> = { msg_type: 'text', content: { text: alert.text.replace(/\*\*/g, '') } };
      if (hook.secret) Object.assign(body, { timestamp: String(ts), sign: feishuSign(ts, hook.secret) });
      return { url: hook.url, body };
    }
  }
}

/** Posts an alert to every webhook; failures are logged (without the webhook's URL or secret), never thrown. */
export async function sendAlerts(hooks: Webhook[], alert: { title: string; text: string }, logger: Logger): Promise<number> {
  let sent = 0;
  await Promise.all(
    hooks.map(async (hook, i) => {
      const { url, body } = webhookRequest(hook, alert);
      try {
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json; charset=utf-8' },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(10_000),
        });
        const text = await res.text();
        // DingTalk and WeCom answer errcode, Feishu code; 0 means taken.
        let code = 0;
        try {
          const j = JSON.parse(text) as { errcode?: number; code?: number };
          code = j.errcode ?? j.code ?? 0;
        } catch {
          code = res.ok ? 0 : res.status;
        }
        if (!res.ok || code !== 0) logger.warn(`alert webhook #${i + 1} (${hook.type}) refused the message: HTTP ${res.status} ${text.slice(0, 200)}`);
        else sent++;
      } catch (e) {
        logger.warn(`alert webhook #${i + 1} (${hook.type}) unreachable: ${(e as Error).name}`);
      }
    }),
  );
  return sent;
}
