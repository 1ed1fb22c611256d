package infra

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/sns"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/stackconfig"
)

// MonitoringArgs configures alarms and the dashboard.
type MonitoringArgs struct {
	Config *stackconfig.Config
	// DependsOn are the resources the alarms watch, so alarms are created
	// after (and removed before) them.
	DependsOn []pulumi.Resource
	// APIID is the HTTP API's id (ingress http): its metrics are keyed by
	// ApiId, not by the API's name as a REST API's are.
	APIID pulumi.StringInput
}

// HTTPAPIIDDimension stands for the HTTP API's id in AlarmSpecs and
// DashboardBody until the API exists (NewMonitoring fills it in).
const HTTPAPIIDDimension = "<http api id>"

// apiMetrics are the API's metric names and dimensions: a REST API's
// (4XXError, 5XXError; ApiName) or an HTTP API's (4xx, 5xx; ApiId), as AWS
// documents each.
func apiMetrics(c *stackconfig.Config, apiID string) (m4xx, m5xx, dimension, value string) {
	if c.HTTP() {
		return "4xx", "5xx", "ApiId", apiID
	}
	return "4XXError", "5XXError", "ApiName", c.APIName()
}

// Monitoring is a stack's alarms (per source: DLQ not empty, oldest message
// too old, function errors, function throttles; per API: 5XX) sent to one SNS
// topic with the configured e-mail subscriptions, and one dashboard.
type Monitoring struct {
	pulumi.ResourceState

	Topic  *sns.Topic
	Alarms []*cloudwatch.MetricAlarm

	TopicArn      pulumi.StringOutput `pulumi:"topicArn"`
	DashboardName pulumi.StringOutput `pulumi:"dashboardName"`
}

// ForgeryAlarmThreshold is how many forged records of an open (signature)
// source in a minute (the alarms' period) raise its alarm.
const ForgeryAlarmThreshold = 100

// AlarmSpec is one CloudWatch alarm, as a pure value.
type AlarmSpec struct {
	Name        string
	Description string
	Namespace   string
	Metric      string
	Dimensions  map[string]string
	Statistic   string
	Threshold   float64
	Periods     int
}

// AlarmSpecs lists every alarm of a stack.
func AlarmSpecs(c *stackconfig.Config) []AlarmSpec {
	var out []AlarmSpec
	for _, s := range c.Sources {
		out = append(out,
			AlarmSpec{
				Name:        c.SourceAlarmName(s, "dlq-not-empty"),
				Description: "Messages of source " + s.Name + " reached the DLQ: inspect them, fix the cause, then redrive.",
				Namespace:   "AWS/SQS", Metric: "ApproximateNumberOfMessagesVisible",
				Dimensions: map[string]string{"QueueName": c.DLQName(s)},
				Statistic:  "Maximum", Threshold: 0, Periods: 1,
			},
			AlarmSpec{
				Name:        c.SourceAlarmName(s, "oldest-message"),
				Description: "The oldest message of source " + s.Name + " waits longer than " + strconv.Itoa(c.Alarms.OldestMessageAgeSeconds) + " s: a group is stuck or the consumer is too slow.",
				Namespace:   "AWS/SQS", Metric: "ApproximateAgeOfOldestMessage",
				Dimensions: map[string]string{"QueueName": c.QueueName(s)},
				Statistic:  "Maximum", Threshold: float64(c.Alarms.OldestMessageAgeSeconds), Periods: 3,
			},
			AlarmSpec{
				Name:        c.SourceAlarmName(s, "function-errors"),
				Description: "The consumer of source " + s.Name + " failed invocations.",
				Namespace:   "AWS/Lambda", Metric: "Errors",
				Dimensions: map[string]string{"FunctionName": c.FunctionName(s)},
				Statistic:  "Sum", Threshold: 0, Periods: 1,
			},
			AlarmSpec{
				Name:        c.SourceAlarmName(s, "function-throttles"),
				Description: "The consumer of source " + s.Name + " is throttled: raise its concurrency or the account limit.",
				Namespace:   "AWS/Lambda", Metric: "Throttles",
				Dimensions: map[string]string{"FunctionName": c.FunctionName(s)},
				Statistic:  "Sum", Threshold: 0, Periods: 1,
			},
		)
	}
	for _, s := range c.Sources {
		if s.Auth.Type != stackconfig.AuthSignature {
			continue
		}
		out = append(out, AlarmSpec{
			Name:        c.SourceAlarmName(s, "forgeries"),
			Description: "More than " + strconv.Itoa(ForgeryAlarmThreshold) + " records of open source " + s.Name + " failed signature verification in a minute: someone is posting forgeries (they are dropped, not processed), or the signing secret is out of step with the sender's.",
			Namespace:   contract.MetricNamespace, Metric: contract.MetricForged,
			Dimensions: map[string]string{"Source": s.Name},
			Statistic:  "Sum", Threshold: ForgeryAlarmThreshold, Periods: 1,
		})
	}
	_, m5xx, dim, val := apiMetrics(c, HTTPAPIIDDimension)
	out = append(out, AlarmSpec{
		Name:        c.StackAlarmName("api-5xx"),
		Description: "The webhook API answered 5XX: senders will retry, but check the integration.",
		Namespace:   "AWS/ApiGateway", Metric: m5xx,
		Dimensions: map[string]string{dim: val, "Stage": StageName},
		Statistic:  "Sum", Threshold: 0, Periods: 1,
	})
	return out
}

// DashboardBody renders the stack's CloudWatch dashboard; apiID is the HTTP
// API's id (ignored on a REST API, whose metrics are keyed by name).
func DashboardBody(c *stackconfig.Config, apiID string) string {
	type widget struct {
		Type       string         `json:"type"`
		X          int            `json:"x"`
		Y          int            `json:"y"`
		Width      int            `json:"width"`
		Height     int            `json:"height"`
		Properties map[string]any `json:"properties"`
	}
	metricWidget := func(x, y int, title string, metrics [][]any) widget {
		return widget{Type: "metric", X: x, Y: y, Width: 8, Height: 6, Properties: map[string]any{
			"title": title, "region": c.Region, "view": "timeSeries", "stat": "Sum", "period": 60, "metrics": metrics,
		}}
	}
	m4xx, m5xx, dim, api := apiMetrics(c, apiID)
	ws := []widget{
		metricWidget(0, 0, "API requests", [][]any{
			{"AWS/ApiGateway", "Count", dim, api, "Stage", StageName},
			{".", m4xx, ".", ".", ".", "."},
			{".", m5xx, ".", ".", ".", "."},
		}),
		metricWidget(8, 0, "API latency (p99)", [][]any{
			{"AWS/ApiGateway", "Latency", dim, api, "Stage", StageName, map[string]any{"stat": "p99"}},
			{".", "IntegrationLatency", ".", ".", ".", ".", map[string]any{"stat": "p99"}},
		}),
	}
	for i, s := range c.Sources {
		y := 6 * (i + 1)
		q, dlq, fn := c.QueueName(s), c.DLQName(s), c.FunctionName(s)
		ws = append(ws,
			metricWidget(0, y, s.Name+": queue", [][]any{
				{"AWS/SQS", "NumberOfMessagesSent", "QueueName", q},
				{".", "ApproximateNumberOfMessagesVisible", ".", ".", map[string]any{"stat": "Maximum"}},
				{".", "ApproximateNumberOfMessagesVisible", ".", dlq, map[string]any{"stat": "Maximum", "label": "DLQ"}},
			}),
			metricWidget(8, y, s.Name+": oldest message (s)", [][]any{
				{"AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", q, map[string]any{"stat": "Maximum"}},
			}),
			metricWidget(16, y, s.Name+": function", [][]any{
				{"AWS/Lambda", "Invocations", "FunctionName", fn},
				{".", "Errors", ".", "."},
				{".", "Throttles", ".", "."},
				{".", "Duration", ".", ".", map[string]any{"stat": "p99"}},
			}),
		)
	}
	b, err := json.Marshal(map[string]any{"widgets": ws})
	if err != nil {
		panic(err) // plain data: cannot happen
	}
	return string(b)
}

// NewMonitoring creates the topic, subscriptions, alarms and dashboard.
func NewMonitoring(ctx *pulumi.Context, name string, args *MonitoringArgs, opts ...pulumi.ResourceOption) (*Monitoring, error) {
	if args == nil || args.Config == nil {
		return nil, fmt.Errorf("monitoring %s: Config is required", name)
	}
	c := args.Config
	m := &Monitoring{}
	if err := ctx.RegisterComponentResource(TypeMonitoring, name, m, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(m)

	var err error
	// The topic is not encrypted with the AWS-managed SNS key: CloudWatch
	// alarms cannot publish to a topic under that key.
	m.Topic, err = sns.NewTopic(ctx, name+"-alarms", &sns.TopicArgs{
		Name: pulumi.String(c.AlarmTopicName()),
		Tags: tagMap(c),
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("create alarm topic: %w", err)
	}
	for i, email := range c.AlarmEmails {
		if _, err := sns.NewTopicSubscription(ctx, fmt.Sprintf("%s-email-%d", name, i), &sns.TopicSubscriptionArgs{
			Topic:    m.Topic.Arn,
			Protocol: pulumi.String("email"),
			Endpoint: pulumi.String(email),
		}, parent); err != nil {
			return nil, fmt.Errorf("subscribe %s to alarms: %w", email, err)
		}
	}

	actions := pulumi.Array{m.Topic.Arn}
	if c.HTTP() && args.APIID == nil {
		return nil, fmt.Errorf("monitoring %s: APIID is required on ingress http", name)
	}
	for _, a := range AlarmSpecs(c) {
		dims := pulumi.StringMap{}
		for k, v := range a.Dimensions {
			if v == HTTPAPIIDDimension {
				dims[k] = args.APIID
			} else {
				dims[k] = pulumi.String(v)
			}
		}
		alarm, err := cloudwatch.NewMetricAlarm(ctx, a.Name, &cloudwatch.MetricAlarmArgs{
			Name:               pulumi.String(a.Name),
			AlarmDescription:   pulumi.String(a.Description),
			Namespace:          pulumi.String(a.Namespace),
			MetricName:         pulumi.String(a.Metric),
			Dimensions:         dims,
			Statistic:          pulumi.String(a.Statistic),
			Period:             pulumi.Int(60),
			EvaluationPeriods:  pulumi.Int(a.Periods),
			Threshold:          pulumi.Float64(a.Threshold),
			ComparisonOperator: pulumi.String("GreaterThanThreshold"),
			TreatMissingData:   pulumi.String("notBreaching"),
			AlarmActions:       actions,
			OkActions:          actions,
			Tags:               tagMap(c),
		}, parent, pulumi.DependsOn(args.DependsOn))
		if err != nil {
			return nil, fmt.Errorf("create alarm %s: %w", a.Name, err)
		}
		m.Alarms = append(m.Alarms, alarm)
	}

	var body pulumi.StringInput = pulumi.String(DashboardBody(c, ""))
	if c.HTTP() {
		body = args.APIID.ToStringOutput().ApplyT(func(id string) string { return DashboardBody(c, id) }).(pulumi.StringOutput)
	}
	dash, err := cloudwatch.NewDashboard(ctx, name+"-dashboard", &cloudwatch.DashboardArgs{
		DashboardName: pulumi.String(c.DashboardName()),
		DashboardBody: body,
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("create dashboard: %w", err)
	}

	m.TopicArn = m.Topic.Arn
	m.DashboardName = dash.DashboardName
	if err := ctx.RegisterResourceOutputs(m, pulumi.Map{"topicArn": m.TopicArn, "dashboardName": m.DashboardName}); err != nil {
		return nil, err
	}
	return m, nil
}
