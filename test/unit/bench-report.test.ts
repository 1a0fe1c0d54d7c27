import { expect } from 'chai';
import { checkTargets, formatChecks, tableRows } from '../../bench/lib/report.js';
import type { ScenarioReport } from '../../bench/scenarios.js';

function report(scenario: string, metrics: ScenarioReport['metrics'], foxSkipped?: string): ScenarioReport {
  return { scenario, setup: '', baseline: {}, metrics, notes: [], profiles: [], foxSkipped };
}

const REPORTS: ScenarioReport[] = [
  report('rpc json', [
    { name: 'calls/s', kind: 'rate', switchyard: 50_000, fox: 30_000, baseline: 60_000, baselineCorked: 200_000 },
    { name: 'p99 ms', kind: 'latency', switchyard: 12, fox: 20 },
  ]),
  report('rpc msgpack', [{ name: 'calls/s', kind: 'rate', switchyard: 49_000, baseline: 60_000, baselineCorked: 55_000 }], 'json only'),
  report('pubsub', [{ name: 'lost events', kind: 'count', switchyard: 0, fox: 3 }]),
  report('fanout', [
    { name: 'p99 ms', kind: 'latency', switchyard: 51 },
    { name: 'lost events', kind: 'count', switchyard: 0 },
  ]),
  report('sessions', [{ name: 'RSS bytes/session', kind: 'bytes', switchyard: 7000, fox: 13_000, baseline: 5000 }]),
  report('handshake', [{ name: 'wampcra joins/router CPU-s', kind: 'rate', switchyard: 4000, baseline: 10_000 }]),
];

describe('bench report', () => {
  it('puts ratios to the baseline beside rates, bytes and CPU, not beside latencies or counts', () => {
    const rows = tableRows(REPORTS);
    expect(rows[0]).to.deep.equal(['rpc json', 'calls/s', '50,000', '0.83x', '0.25x', '30,000', '0.50x', '1.67x']);
    expect(rows[1]).to.deep.equal(['', 'p99 ms', '12', '-', '-', '20', '-', '0.60x']);
    expect(rows[2]).to.deep.equal(['rpc msgpack', 'calls/s', '49,000', '0.82x', '0.89x', 'n/a', '-', '-']);
    expect(rows[3]![7]).to.equal('-'); // counts get no sy/fox ratio
    expect(rows[6]).to.deep.equal(['sessions', 'RSS bytes/session', '6.84 KiB', '1.40x', '-', '12.7 KiB', '2.60x', '0.54x']);
  });

  it('checks the issue targets', () => {
    const checks = checkTargets(REPORTS);
    const by = Object.fromEntries(checks.map((c) => [c.target, c]));
    expect(by['rpc json >= 0.75x corked relay']!.pass).to.equal(false); // 0.25x
    expect(by['rpc json >= 1.5x fox-wamp']!.pass).to.equal(true);
    expect(by['rpc msgpack >= 0.8x corked relay']!.pass).to.equal(true); // 0.89x
    expect(by['rpc msgpack not slower than json']!.pass).to.equal(true); // 0.98: within noise
    expect(by['pubsub: 0 lost events']!.pass).to.equal(true);
    expect(by['fanout: 0 lost events']!.pass).to.equal(true);
    expect(by['fanout p99 <= 50 ms']!.pass).to.equal(false);
    expect(by['sessions: <= 8 KiB router RSS per idle session']!.pass).to.equal(true);
    expect(by['sessions: router RSS per idle session <= 1.0x relay connection']!.pass).to.equal(false); // 1.40x
    const cra = by['handshake: salted-CRA joins per router CPU-s >= 1.3x fox-wamp']!;
    expect(cra.pass).to.equal(undefined);
    expect(by['handshake: salted-CRA joins per router CPU-s >= 0.6x relay connect/close']!.pass).to.equal(false); // 0.40x
    expect(formatChecks(checks)).to.match(/not measured \(fox-wamp not run\)/).and.match(/FAIL/).and.match(/PASS/);
  });
});
