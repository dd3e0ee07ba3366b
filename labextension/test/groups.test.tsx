import { readFileSync } from 'fs';
import { join } from 'path';

import React from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';

import { timelineItems } from '../src/timeline';
import { CheckpointExtras, Group, Metadata } from '../src/Extras';
import {
  buildGroups,
  isGroup,
  leafName,
  metadataText,
  parsePath,
  segmentText
} from '../src/groups';
import type { IGroup, IGroupable } from '../src/groups';
import type { IArtifact, ICheckpoint, IExecution } from '../src/types';

const XSS = '<img src=x onerror=alert(1)>';
const ESCAPED = '&lt;img src=x onerror=alert(1)&gt;';

interface ICase {
  name: string;
  segments: Array<{
    name: string;
    iteration: number | null;
    branch: string | null;
  }>;
  leaf: string;
}

const cases = (
  JSON.parse(readFileSync(join(__dirname, 'construct_paths.json'), 'utf8')) as {
    cases: ICase[];
  }
).cases;

describe('parsePath', () => {
  it.each(cases.map(c => [c.name, c] as const))(
    'reads %s as the panel does',
    (_name, c) => {
      const { segments, leaf } = parsePath(c.name);
      expect(leaf).toBe(c.leaf);
      expect(segments).toEqual(c.segments);
      expect([...segments.map(segmentText), leaf].join('/')).toBe(c.name);
    }
  );
});

function row(
  index: number,
  name: string,
  over: Partial<IGroupable> = {}
): IGroupable {
  return {
    index,
    name,
    kind: 'checkpoint',
    status: 'completed',
    checkpointType: 'step',
    outputPreview: null,
    ...over
  };
}

/** The run of kitaru_nb's constructs as the journal records it, with its definition signature. */
const SIGNATURE = [
  ['first', false],
  [
    'research',
    'Parallel',
    [
      ['fetch', false],
      ['read', false],
      ['third', false]
    ]
  ],
  ['refine', 'Loop', [['work', false]]],
  ['check', 'Condition', [['yes', false]], [['no', false]]],
  [
    'route',
    'Router',
    [
      ['deep', false],
      ['shallow', false]
    ]
  ],
  [
    'seq',
    'Steps',
    [
      ['a', false],
      ['b', false]
    ]
  ]
];
const ROWS = [
  row(0, 'first'),
  row(1, 'research/fetch'),
  row(2, 'research/read', { status: 'paused' }),
  row(3, 'research/third'),
  row(4, 'refine#1/work'),
  row(5, 'refine#2/work'),
  row(6, 'check', { checkpointType: 'condition', outputPreview: 'False' }),
  row(7, 'check:else/no'),
  row(8, 'route', { checkpointType: 'router', outputPreview: "['deep']" }),
  row(9, 'route/deep'),
  row(10, 'confirm:seq', { kind: 'confirmation' }),
  row(11, 'seq/a'),
  row(12, 'seq/b', { status: 'running' })
];

function outline(items: Array<IGroupable | IGroup<IGroupable>>): unknown[] {
  return items.map(i =>
    isGroup(i) ? { [i.label]: outline(i.items) } : i.name
  );
}

describe('buildGroups', () => {
  it('groups construct rows under a summary line; plain rows stay', () => {
    expect(outline(buildGroups(ROWS, SIGNATURE))).toEqual([
      'first',
      {
        'research · parallel · 2/3 done · 1 paused': [
          'research/fetch',
          'research/read',
          'research/third'
        ]
      },
      {
        'refine · loop · iteration 2': [
          { 'iteration 1': ['refine#1/work'] },
          { 'iteration 2': ['refine#2/work'] }
        ]
      },
      { 'check · condition → else': ['check', 'check:else/no'] },
      { 'route · router → deep': ['route', 'route/deep'] },
      { 'seq · steps · 1/2 done': ['confirm:seq', 'seq/a', 'seq/b'] }
    ]);
  });

  it('gives a group the status that needs a look first', () => {
    const tree = buildGroups(ROWS, SIGNATURE);
    const status = Object.fromEntries(
      tree.filter(isGroup).map(g => [g.name, g.status])
    );
    expect(status).toEqual({
      research: 'paused',
      refine: 'completed',
      check: 'completed',
      route: 'completed',
      seq: 'running'
    });
  });

  it('nests constructs and tells kinds apart without a signature', () => {
    const tree = buildGroups(
      [
        row(0, 'refine#1/research/fetch'),
        row(1, 'refine#1/research/read', { status: 'failed' }),
        row(2, 'refine#1/gate', {
          checkpointType: 'condition',
          outputPreview: 'True'
        })
      ],
      undefined
    );
    expect(outline(tree)).toEqual([
      {
        'refine · loop · iteration 1 · 1 failed': [
          {
            'iteration 1': [
              {
                'research · 1/2 done · 1 failed': [
                  'refine#1/research/fetch',
                  'refine#1/research/read'
                ]
              },
              { 'gate · condition → if': ['refine#1/gate'] }
            ]
          }
        ]
      }
    ]);
  });

  it('opens a new group when a construct comes back after other rows', () => {
    const tree = buildGroups(
      [row(0, 'Parallel/a'), row(1, 'between'), row(2, 'Parallel/b')],
      undefined
    );
    expect(tree.filter(isGroup).map(g => g.firstIndex)).toEqual([0, 2]);
  });

  it("shows a step's own name inside its group", () => {
    expect(leafName(row(0, 'refine#2/research/fetch'))).toBe('fetch');
    expect(
      leafName(row(0, 'confirm:research/x', { kind: 'confirmation' }))
    ).toBe('x');
  });
});

describe('metadataText', () => {
  it('writes key=value with compact JSON, clips long values, keeps the whole for the hover', () => {
    const { short, full } = metadataText({
      tokens: 12,
      model: 'gpt',
      usage: { in: 3, out: [1, 2] },
      long: 'y'.repeat(300)
    });
    expect(
      short.startsWith(
        'tokens=12, model=gpt, usage={"in":3,"out":[1,2]}, long=yyy'
      )
    ).toBe(true);
    expect(short.length).toBeLessThanOrEqual(160);
    expect(full).toContain('long=' + 'y'.repeat(300));
    expect(metadataText({})).toEqual({ short: '', full: '' });
  });
});

function artifact(over: Partial<IArtifact>): IArtifact {
  return {
    artifact_id: 'a1',
    name: 'prompt',
    kind: 'prompt',
    save_type: 'manual',
    producing_call: 'ask',
    metadata: {},
    preview: "'hello'",
    tags: [],
    exec_id: 'e1',
    call_id: 'c1',
    ...over
  };
}

function call(over: Partial<ICheckpoint>): ICheckpoint {
  return {
    call_id: 'c1',
    name: 'ask',
    index: 0,
    status: 'completed',
    started_at: '2026-01-01T00:00:00+00:00',
    ended_at: '2026-01-01T00:00:01+00:00',
    failure: null,
    attempts: [],
    original_call_id: null,
    output_preview: "'answer'",
    paused: false,
    fingerprint: null,
    code_changed: null,
    duration: 1,
    paused_seconds: 0,
    display_status: 'completed',
    metadata: {},
    checkpoint_type: null,
    artifacts: [artifact({ name: 'output', save_type: 'step_output' })],
    cached_from: null,
    ...over
  };
}

describe('CheckpointExtras', () => {
  it('renders nothing for a checkpoint that only has its output', () => {
    expect(renderToStaticMarkup(<CheckpointExtras call={call({})} />)).toBe('');
  });

  it('shows metadata, saved values and the cache origin as text', () => {
    const html = renderToStaticMarkup(
      <CheckpointExtras
        call={call({
          metadata: { [XSS]: XSS },
          cached_from: 'abcdef0123456789',
          artifacts: [
            artifact({ name: 'output', save_type: 'step_output' }),
            artifact({
              name: XSS,
              kind: XSS,
              preview: XSS,
              tags: [XSS, 'draft']
            })
          ]
        })}
      />
    );
    expect(html).not.toContain(XSS);
    expect(html).toContain(`${ESCAPED}=${ESCAPED}`);
    expect(html).toContain(`<b class="kitaru-nb-artifact-name">${ESCAPED}</b>`);
    expect(html).toContain(`<i class="kitaru-nb-artifact-type">${ESCAPED}</i>`);
    expect(html).toContain(`#${ESCAPED}`);
    expect(html).toContain('#draft');
    expect(html).toContain('cached from <code>abcdef01</code>');
    expect(html).not.toContain('>output<'); // the output is not listed again
  });

  it('writes an execution metadata line and a group summary as text', () => {
    expect(renderToStaticMarkup(<Metadata metadata={{ by: XSS }} />)).toBe(
      `<span class="kitaru-nb-metadata" title="by=${ESCAPED}">by=${ESCAPED}</span>`
    );
    const [group] = buildGroups([row(0, `${XSS}/step`)], undefined);
    const html = renderToStaticMarkup(
      <Group group={group as IGroup<IGroupable>}>
        <li>row</li>
      </Group>
    );
    expect(html).not.toContain(XSS);
    expect(html).toContain(
      `<summary class="kitaru-nb-group-summary">${ESCAPED} · 1/1 done</summary>`
    );
  });
});

describe('timelineItems', () => {
  const base = {
    exec_id: 'e1',
    kind: 'workflow',
    meta: { steps: SIGNATURE },
    timeline: [
      { index: 0, kind: 'checkpoint', name: 'first', status: 'completed' },
      {
        index: 1,
        kind: 'checkpoint',
        name: 'research/fetch',
        status: 'completed'
      }
    ]
  } as unknown as IExecution;

  it('groups a workflow run and leaves a flow flat', () => {
    const byIndex = new Map<number, ICheckpoint>([
      [0, call({ index: 0, name: 'first' })],
      [1, call({ index: 1, name: 'research/fetch' })]
    ]);
    const grouped = timelineItems(base, byIndex);
    expect(grouped.map(i => (isGroup(i) ? i.label : i.name))).toEqual([
      'first',
      'research · parallel · 1/3 done'
    ]);
    const flat = timelineItems({ ...base, kind: 'flow' }, byIndex);
    expect(flat.map(i => (isGroup(i) ? i.label : i.name))).toEqual([
      'first',
      'research/fetch'
    ]);
  });
});
