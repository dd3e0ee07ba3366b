import { createServer, IncomingMessage, Server, ServerResponse } from 'http';
import { AddressInfo } from 'net';

import { ServerConnection } from '@jupyterlab/services';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import {
  detailQueryString,
  ExecutionsAPI,
  KitaruApiError,
  listQueryString,
  requestAPI
} from '../src/request';

interface ISeen {
  method: string;
  url: string;
  authorization: string | undefined;
  body: string;
}

/** A small HTTP server standing in for jupyter_server: records requests, answers what the test says. */
let server: Server;
let baseUrl = '';
let seen: ISeen[] = [];
let reply: { status: number; body: string; type?: string } = {
  status: 200,
  body: '{}'
};

beforeAll(async () => {
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', chunk => (body += String(chunk)));
    req.on('end', () => {
      seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        authorization: req.headers.authorization,
        body
      });
      res.writeHead(reply.status, {
        'Content-Type': reply.type ?? 'application/json'
      });
      res.end(reply.body);
    });
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  baseUrl = `http://127.0.0.1:${port}/base/`;
});

afterAll(async () => {
  await new Promise<void>(resolve => server.close(() => resolve()));
});

beforeEach(() => {
  seen = [];
  reply = { status: 200, body: '{}' };
});

function settings(): ServerConnection.ISettings {
  return ServerConnection.makeSettings({
    baseUrl,
    token: 'secret-token',
    appendToken: false
  });
}

/** The path of the last request, without the cache-busting number ServerConnection appends. */
function lastPath(): string {
  const url = new URL(seen[seen.length - 1].url, 'http://x');
  const params = [...url.searchParams.entries()].filter(
    ([k, v]) => !(v === '' && /^\d+$/.test(k))
  );
  const qs = new URLSearchParams(params).toString();
  return url.pathname + (qs ? `?${qs}` : '');
}

describe('listQueryString', () => {
  it('leaves empty values out', () => {
    expect(listQueryString({})).toBe('');
    expect(listQueryString({ status: '', flow: '' })).toBe('');
  });

  it('encodes every filter', () => {
    expect(
      listQueryString({ status: 'failed', flow: 'a b&c', limit: 5, offset: 10 })
    ).toBe('?status=failed&flow=a+b%26c&limit=5&offset=10');
  });
});

describe('requestAPI', () => {
  it('calls <base>/kitaru-nb/api/<endpoint> with the token and returns the JSON', async () => {
    reply = { status: 200, body: '{"executions": [], "total": 0}' };
    const data = await requestAPI<{ total: number }>(
      'executions',
      {},
      settings()
    );
    expect(data.total).toBe(0);
    expect(seen).toHaveLength(1);
    expect(seen[0].method).toBe('GET');
    expect(seen[0].authorization).toBe('token secret-token');
    expect(lastPath()).toBe('/base/kitaru-nb/api/executions');
  });

  it('turns a 400 into a KitaruApiError with the per-field errors', async () => {
    reply = {
      status: 400,
      body: JSON.stringify({
        message: 'does not fit',
        errors: [
          { loc: ['reviewer'], msg: 'too short', type: 'string_too_short' },
          { loc: 'bad', msg: 'dropped: loc is not a list' }
        ]
      })
    };
    const error = await requestAPI(
      'executions/abc/input',
      {},
      settings()
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KitaruApiError);
    const apiError = error as KitaruApiError;
    expect(apiError.status).toBe(400);
    expect(apiError.message).toBe('does not fit');
    expect(apiError.errors).toEqual([
      { loc: ['reviewer'], msg: 'too short', type: 'string_too_short' }
    ]);
  });

  it('says what went wrong when the answer is not JSON', async () => {
    reply = { status: 404, body: '<html>Not Found</html>', type: 'text/html' };
    const error = (await requestAPI('executions', {}, settings()).catch(
      (e: unknown) => e
    )) as KitaruApiError;
    expect(error.status).toBe(404);
    expect(error.message).toContain('not JSON');
    expect(error.message).toContain('server extension');
  });

  it('uses the status text when the error has no message', async () => {
    reply = { status: 503, body: '{}' };
    const error = (await requestAPI('executions', {}, settings()).catch(
      (e: unknown) => e
    )) as KitaruApiError;
    expect(error.status).toBe(503);
    expect(error.message).toContain('503');
  });

  it('reports an unreachable server as status 0', async () => {
    const dead = ServerConnection.makeSettings({
      baseUrl: 'http://127.0.0.1:9/',
      appendToken: false
    });
    const error = (await requestAPI('executions', {}, dead).catch(
      (e: unknown) => e
    )) as KitaruApiError;
    expect(error).toBeInstanceOf(KitaruApiError);
    expect(error.status).toBe(0);
    expect(error.message).toContain('not reachable');
  });
});

describe('ExecutionsAPI', () => {
  it('lists with filters and paging', async () => {
    reply = { status: 200, body: '{"executions": [], "total": 7}' };
    const page = await new ExecutionsAPI(settings()).list({
      status: 'waiting',
      limit: 50,
      offset: 0
    });
    expect(page.total).toBe(7);
    expect(lastPath()).toBe(
      '/base/kitaru-nb/api/executions?status=waiting&limit=50&offset=0'
    );
  });

  it('asks which journal the server reads', async () => {
    reply = {
      status: 200,
      body: '{"journal": "/root/kitaru.db", "exists": false}'
    };
    const status = await new ExecutionsAPI(settings()).status();
    expect(status).toEqual({ journal: '/root/kitaru.db', exists: false });
    expect(lastPath()).toBe('/base/kitaru-nb/api/status');
  });

  it('gets one execution, escaping the id', async () => {
    reply = { status: 200, body: '{"exec_id": "abc"}' };
    await new ExecutionsAPI(settings()).get('../etc/passwd');
    expect(lastPath()).toBe('/base/kitaru-nb/api/executions/..%2Fetc%2Fpasswd');
  });

  it('asks for a page of the timeline before or after a position', async () => {
    reply = { status: 200, body: '{"exec_id": "abc"}' };
    const api = new ExecutionsAPI(settings());
    await api.get('abc123', { before: 800 });
    expect(lastPath()).toBe('/base/kitaru-nb/api/executions/abc123?before=800');
    await api.get('abc123', { after: -1, limit: 1 });
    expect(lastPath()).toBe(
      '/base/kitaru-nb/api/executions/abc123?after=-1&limit=1'
    );
    expect(detailQueryString({})).toBe('');
  });

  it('deletes an execution; a 204 has no body, a 409 says why', async () => {
    reply = { status: 204, body: '' };
    const api = new ExecutionsAPI(settings());
    await expect(api.delete('abc123')).resolves.toBeUndefined();
    expect(seen[0].method).toBe('DELETE');
    expect(lastPath()).toBe('/base/kitaru-nb/api/executions/abc123');
    await api.delete('abc123', true);
    expect(lastPath()).toBe('/base/kitaru-nb/api/executions/abc123?force=true');
    reply = {
      status: 409,
      body: '{"message": "execution abc123 is waiting; delete refuses running and waiting executions."}'
    };
    const error = await api.delete('abc123').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KitaruApiError);
    expect((error as KitaruApiError).status).toBe(409);
    expect((error as KitaruApiError).message).toContain('is waiting');
  });

  it('posts an answer as {"wait", "value"}', async () => {
    reply = { status: 200, body: '{"exec_id": "abc", "pending_waits": []}' };
    const execution = await new ExecutionsAPI(settings()).answer(
      'abc123',
      'approve',
      { approved: true, reviewer: 'ada' }
    );
    expect(execution.pending_waits).toEqual([]);
    expect(seen[0].method).toBe('POST');
    expect(lastPath()).toBe('/base/kitaru-nb/api/executions/abc123/input');
    expect(JSON.parse(seen[0].body)).toEqual({
      wait: 'approve',
      value: { approved: true, reviewer: 'ada' }
    });
  });

  it('posts a decision as {"checkpoint", "decision"}', async () => {
    reply = { status: 200, body: '{"exec_id": "abc", "pending_errors": []}' };
    const execution = await new ExecutionsAPI(settings()).decide(
      'abc123',
      'fetch',
      'skip'
    );
    expect(execution.pending_errors).toEqual([]);
    expect(seen[0].method).toBe('POST');
    expect(lastPath()).toBe('/base/kitaru-nb/api/executions/abc123/decision');
    expect(JSON.parse(seen[0].body)).toEqual({
      checkpoint: 'fetch',
      decision: 'skip'
    });
  });

  it('turns a 409 (nothing paused any more) into a KitaruApiError', async () => {
    reply = {
      status: 409,
      body: '{"message": "execution abc has no checkpoint paused on error"}'
    };
    await expect(
      new ExecutionsAPI(settings()).decide('abc', 'fetch', 'retry')
    ).rejects.toMatchObject({
      status: 409,
      message: 'execution abc has no checkpoint paused on error'
    });
  });

  it('lists by part of the flow name and by what a waiting execution needs', async () => {
    reply = { status: 200, body: '{"executions": [], "total": 0}' };
    await new ExecutionsAPI(settings()).list({
      status: 'needs_input',
      flowContains: 'budg'
    });
    expect(lastPath()).toBe(
      '/base/kitaru-nb/api/executions?status=needs_input&flow_contains=budg'
    );
  });

  it('asks how many executions wait for a human', async () => {
    reply = {
      status: 200,
      body: '{"input": 2, "decision": 1, "total": 3, "token": 7}'
    };
    const counts = await new ExecutionsAPI(settings()).counts();
    expect(counts.total).toBe(3);
    expect(lastPath()).toBe('/base/kitaru-nb/api/counts');
  });

  it('posts a retry as {} and a replay as {"from", "overrides", "after"}', async () => {
    reply = {
      status: 202,
      body: '{"request": {"request_id": "r1"}, "message": "recorded"}'
    };
    const api = new ExecutionsAPI(settings());
    const accepted = await api.retry('abc123');
    expect(accepted.message).toBe('recorded');
    expect(lastPath()).toBe('/base/kitaru-nb/api/executions/abc123/retry');
    expect(JSON.parse(seen[0].body)).toEqual({});
    await api.replay('abc123', 'load#2');
    expect(lastPath()).toBe('/base/kitaru-nb/api/executions/abc123/replay');
    expect(JSON.parse(seen[1].body)).toEqual({ from: 'load#2' });
    await api.replay('abc123', 'load', { 'checkpoint.load': [1] }, true);
    expect(JSON.parse(seen[2].body)).toEqual({
      from: 'load',
      overrides: { 'checkpoint.load': [1] },
      after: true
    });
  });

  it('turns a 409 retry (not failed) into a KitaruApiError', async () => {
    reply = {
      status: 409,
      body: '{"message": "execution abc is completed; only a failed one retries"}'
    };
    await expect(
      new ExecutionsAPI(settings()).retry('abc')
    ).rejects.toMatchObject({ status: 409 });
  });
});
