"""Decisions marked on a review map: a form in each school's popup (accept the proposal,
keep, close, merge into a nearby public school; for a new school, do not build; none
for a private school), kept in the
browser (localStorage, per programme), listed in a panel that downloads them as
``decisions.csv`` for the next ``layoutopt plan --decisions``. Works offline from the HTML
file alone. A map drawn from a run with decisions starts from those decisions.

Every text is set through text nodes or values, never as HTML.
"""

from __future__ import annotations

from branca.element import MacroElement

from layoutopt.decisions import COLUMNS
from layoutopt.report.map_elements import JINJA, script_json

NEARBY = 10  # receiving schools offered for a merge: the nearest open ones of the county


class DecisionPanel(MacroElement):
    """Defines ``layoutopt_decide`` (the popups' form) and the panel, in the plan's pane."""

    _template = JINJA.from_string(
        """
        {% macro script(this, kwargs) %}
        var layoutopt_decide = (function() {
            var data = layoutopt_schools, columns = {{ this.columns|safe }};
            var key = 'layoutopt-decisions:' + data.programme + ':' + data.plan;
            var words = {keep: '保留 keep', close: '撤销 close', merge_into: '合并 merge into',
                         expand: '扩建 expand', no_change: '维持现状 no change',
                         build: '新建 build', do_not_build: '不建 do not build'};
            var byId = {};
            data.rows.forEach(function(values) {
                var r = {};
                data.keys.forEach(function(k, i) { r[k] = values[i]; });
                byId[r.id] = r;
            });
            function load() {
                var kept = window.localStorage.getItem(key);
                if (kept !== null) { return JSON.parse(kept); }
                var start = {};  // the run's own decisions, until the reviewer changes them
                data.decided.forEach(function(d) {
                    start[d[0]] = {decision: d[1], target: d[2], reason: d[3], by: d[4],
                                   date: d[5], planned: true};
                });
                return start;
            }
            var marks = load(), by = window.localStorage.getItem(key + ':by') || '';
            function save() { window.localStorage.setItem(key, JSON.stringify(marks)); render(); }
            function today() { return new Date().toISOString().slice(0, 10); }
            function text(tag, value) {
                var node = document.createElement(tag);
                node.textContent = value;
                return node;
            }
            // A school's kind reads "level / ownership"; only public schools are the plan's.
            function isPublic(r) { return data.kinds[r.kind].slice(-8) === '/ public'; }
            function nearby(r) {
                return data.rows.map(function(values) {
                    var o = {};
                    data.keys.forEach(function(k, i) { o[k] = values[i]; });
                    return o;
                }).filter(function(o) {
                    return o.county === r.county && o.open && o.id !== r.id && isPublic(o);
                }).map(function(o) {
                    var dx = (o.lon - r.lon) * Math.cos(r.lat * Math.PI / 180), dy = o.lat - r.lat;
                    return [dx * dx + dy * dy, o];
                }).sort(function(a, b) { return a[0] - b[0]; })
                  .slice(0, {{ this.nearby }}).map(function(p) { return p[1]; });
            }
            function form(r) {
                var box = document.createElement('div');
                box.className = 'layoutopt-decide';
                box.appendChild(text('b', '评审决定 review decision'));
                if (!isPublic(r)) {
                    box.appendChild(text('p', "民办 private: not the plan's to decide"));
                    return box;
                }
                var isNew = r.size_register === 0 && r.register === 0;
                var choice = document.createElement('select');
                choice.className = 'layoutopt-decision';
                var options = [['', '接受规划 accept the proposal']].concat(
                    (isNew ? ['build', 'do_not_build']
                           : ['keep', 'close', 'merge_into', 'expand', 'no_change']).map(
                        function(d) { return [d, words[d]]; }));
                options.forEach(function(o) {
                    var option = text('option', o[1]);
                    option.value = o[0];
                    choice.appendChild(option);
                });
                var target = document.createElement('select');
                target.className = 'layoutopt-target';
                nearby(r).forEach(function(o) {
                    var option = text('option', o.name + ' (' + o.id + ')');
                    option.value = o.id;
                    target.appendChild(option);
                });
                var reason = document.createElement('input');
                reason.className = 'layoutopt-reason';
                reason.placeholder = '理由 reason';
                var mark = marks[r.id];
                if (mark) {
                    choice.value = mark.decision;
                    target.value = mark.target;
                    reason.value = mark.reason;
                }
                target.style.display = choice.value === 'merge_into' ? '' : 'none';
                choice.onchange = function() {
                    target.style.display = choice.value === 'merge_into' ? '' : 'none';
                };
                var record = text('button', '记录 record');
                record.className = 'layoutopt-record';
                record.onclick = function() {
                    if (choice.value === '') { delete marks[r.id]; } else {
                        marks[r.id] = {decision: choice.value, reason: reason.value,
                            target: choice.value === 'merge_into' ? target.value : '',
                            by: by, date: today(), planned: false};
                    }
                    save();
                    {{ this._parent.get_name() }}.closePopup();  // recorded: on to the next
                };
                [choice, target, reason, record].forEach(function(n) {
                    n.style.display = n.style.display || 'block';
                    n.style.margin = '3px 0';
                    box.appendChild(n);
                });
                return box;
            }
            function cell(value) {
                var s = String(value === undefined ? '' : value);
                return /[",\\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
            }
            function csv() {
                var lines = [columns.join(',')];
                Object.keys(marks).sort().forEach(function(id) {
                    var m = marks[id];
                    lines.push([data.programme, id, m.decision, m.target, m.reason, m.by,
                                m.date].map(cell).join(','));
                });
                return '\\ufeff' + lines.join('\\r\\n') + '\\r\\n';
            }
            function download() {
                var blob = new Blob([csv()], {type: 'text/csv;charset=utf-8'});
                var link = document.createElement('a');
                link.href = URL.createObjectURL(blob);
                link.download = 'decisions.csv';
                document.body.appendChild(link);
                link.click();
                link.remove();
            }
            var list = document.createElement('ul');
            list.className = 'layoutopt-decisions';
            function render() {
                list.textContent = '';
                Object.keys(marks).sort().forEach(function(id) {
                    var m = marks[id], r = byId[id];
                    var line = (r ? r.name + ' ' : '') + id + ': ' + words[m.decision] +
                        (m.target ? ' ' + m.target : '') + (m.planned ? ' (in this plan)' : '');
                    var item = text('li', line);
                    item.dataset.id = id;
                    var drop = text('button', '×');
                    drop.title = 'remove';
                    drop.onclick = function() { delete marks[id]; save(); };
                    item.appendChild(drop);
                    list.appendChild(item);
                });
            }
            var panel = L.control({position: 'bottomleft'});
            panel.onAdd = function() {
                var div = L.DomUtil.create('div', 'layoutopt-decision-panel');
                div.style.cssText = 'background:#fff;padding:6px 8px;border:1px solid #999;' +
                    'border-radius:4px;font:12px sans-serif;max-height:40vh;overflow:auto;' +
                    'max-width:360px';
                div.appendChild(text('b', '评审决定 review decisions (' + data.programme + ')'));
                var who = document.createElement('input');
                who.className = 'layoutopt-decided-by';
                who.placeholder = '决定人 decided by';
                who.value = by;
                who.onchange = function() {
                    by = who.value;
                    window.localStorage.setItem(key + ':by', by);
                };
                div.appendChild(who);
                div.appendChild(list);
                var get = text('button', '下载 decisions.csv');
                get.className = 'layoutopt-download';
                get.onclick = download;
                div.appendChild(get);
                L.DomEvent.disableClickPropagation(div);
                render();
                return div;
            };
            panel.addTo({{ this._parent.get_name() }});
            return {form: form, marks: function() { return marks; }, csv: csv};
        })();
        {% endmacro %}
        """
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "DecisionPanel"
        self.columns = script_json(COLUMNS)
        self.nearby = NEARBY
