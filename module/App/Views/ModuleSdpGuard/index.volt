{# ModuleSdpGuard: findings per provider. Every value from the daemon is printed through |e. #}
<div class="ui info message">{{ t._('module_sdp_guard_ReadOnlyNote')|e }}</div>

{% if page['state'] != 'ok' %}
    <div class="ui negative message" id="sdp-guard-daemon-error">
        <div class="header">{{ page['error']|e }}</div>
        {% if page['howToStart']|length > 0 %}
            <p>{{ t._('module_sdp_guard_HowToStart')|e }}</p>
            <ul class="list">
                {% for line in page['howToStart'] %}
                    <li>{{ line|e }}</li>
                {% endfor %}
            </ul>
        {% endif %}
    </div>
{% else %}
    <table class="ui very basic collapsing table" id="sdp-guard-summary">
        <tbody>
        <tr>
            <td>{{ t._('module_sdp_guard_OverallStatus')|e }}</td>
            <td>
                <span class="ui {% if page['status'] == 'critical' %}red{% elseif page['status'] == 'warning' %}orange{% elseif page['status'] == 'ok' %}green{% else %}grey{% endif %} label">{{ page['statusLabel']|e }}</span>
                {{ page['countsText']|e }}
            </td>
        </tr>
        <tr>
            <td>{{ t._('module_sdp_guard_CheckedAt')|e }}</td>
            <td>{{ page['checkedAt']|e }} ({{ page['checkedAgo']|e }})</td>
        </tr>
        {% if page['daemonText'] != '' %}
            <tr><td></td><td>{{ page['daemonText']|e }}</td></tr>
        {% endif %}
        </tbody>
    </table>
    {% if page['stale'] %}
        <div class="ui warning message">{{ page['staleText']|e }}</div>
    {% endif %}

    <h4 class="ui header">{{ t._('module_sdp_guard_Sources')|e }}</h4>
    <div class="ui list" id="sdp-guard-sources">
        {% for source in page['sources'] %}
            <div class="item">
                <i class="{% if source['up'] %}green check circle{% else %}red times circle{% endif %} icon"></i>
                <div class="content">
                    <strong>{{ source['label']|e }}</strong>: {{ source['stateText']|e }}
                    {% if source['detail'] != '' %}<span class="ui small grey text">({{ source['detail']|e }})</span>{% endif %}
                </div>
            </div>
        {% endfor %}
    </div>

    <h4 class="ui header">{{ t._('module_sdp_guard_FindingsHeader')|e }}</h4>
    {% if not page['hasFindings'] %}
        <div class="ui positive message">{{ t._('module_sdp_guard_NoFindings')|e }}</div>
    {% endif %}
    {% for group in page['groups'] %}
        <div class="ui segment" id="sdp-guard-provider-{{ group['provider']|e }}">
            <h5 class="ui header">
                <span class="ui {% if group['worst'] == 'critical' %}red{% elseif group['worst'] == 'warning' %}orange{% elseif group['worst'] == 'info' %}blue{% else %}green{% endif %} horizontal label">{{ group['worstLabel']|e }}</span>
                {{ group['title']|e }}
                {% if group['host'] != '' or group['station'] != '' %}
                    <div class="sub header">
                        {% if group['host'] != '' %}{{ t._('module_sdp_guard_Host')|e }}: {{ group['host']|e }}{% endif %}
                        {% if group['station'] != '' %} · {{ t._('module_sdp_guard_Station')|e }}: {{ group['station']|e }}{% endif %}
                    </div>
                {% endif %}
            </h5>
            {% if group['probe'] is not null %}
                <p class="sdp-guard-probe">
                    <span class="ui {% if group['probe']['verdict'] == 'two-way' %}green{% else %}red{% endif %} basic label">{{ group['probe']['label']|e }}</span>
                    {{ group['probe']['text']|e }}
                </p>
            {% endif %}
            {% if group['findings']|length == 0 %}
                <p>{{ group['okText']|e }}</p>
            {% else %}
                <table class="ui celled compact table">
                    <thead>
                    <tr>
                        <th>{{ t._('module_sdp_guard_Severity')|e }}</th>
                        <th>{{ t._('module_sdp_guard_Station')|e }}</th>
                        <th>{{ t._('module_sdp_guard_Addresses')|e }}</th>
                        <th>{{ t._('module_sdp_guard_Problem')|e }}</th>
                        <th>{{ t._('module_sdp_guard_Remedy')|e }}</th>
                    </tr>
                    </thead>
                    <tbody>
                    {% for f in group['findings'] %}
                        <tr class="{% if f['severity'] == 'critical' %}negative{% elseif f['severity'] == 'warning' %}warning{% endif %}">
                            <td>{{ f['severityLabel']|e }}<br><code>{{ f['code']|e }}</code></td>
                            <td>{{ f['stationText']|e }}</td>
                            <td>
                                {% for a in f['addresses'] %}
                                    {{ a['label']|e }}: <code>{{ a['value']|e }}</code><br>
                                {% endfor %}
                            </td>
                            <td>{{ f['message']|e }}</td>
                            <td>{{ f['remedy']|e }}</td>
                        </tr>
                    {% endfor %}
                    </tbody>
                </table>
            {% endif %}
        </div>
    {% endfor %}
{% endif %}

<a class="ui basic button" href="{{ url('module-sdp-guard/module-sdp-guard/index') }}"><i class="sync icon"></i> {{ t._('module_sdp_guard_Refresh')|e }}</a>

<h4 class="ui dividing header">{{ t._('module_sdp_guard_Settings')|e }}</h4>
{% if workerProblem != '' %}
    <div class="ui warning message">{{ workerProblem|e }}</div>
{% endif %}
<form class="ui form" method="post" action="{{ url('module-sdp-guard/module-sdp-guard/save') }}" id="module-sdp-guard-form">
    <div class="field">
        <label for="daemon_url">{{ t._('module_sdp_guard_DaemonUrl')|e }}</label>
        <input type="text" name="daemon_url" id="daemon_url" value="{{ daemonUrl|e }}">
        <small>{{ t._('module_sdp_guard_DaemonUrlHelp')|e }}</small>
    </div>
    <div class="field">
        <div class="ui toggle checkbox">
            <input type="checkbox" name="run_daemon_worker" id="run_daemon_worker" {% if runDaemonWorker %}checked="checked"{% endif %}>
            <label for="run_daemon_worker">{{ t._('module_sdp_guard_RunWorker')|e }}</label>
        </div>
        <small>{{ t._('module_sdp_guard_RunWorkerHelp')|e }}</small>
    </div>
    <button class="ui positive button" type="submit">{{ t._('module_sdp_guard_Save')|e }}</button>
</form>
