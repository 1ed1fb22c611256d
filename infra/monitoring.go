package infra

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/sns"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/hookline/hookline/contract"
)

// MonitoringArgs configures alarms and the dashboard.
type MonitoringArgs struct {
	Spec MonitoringSpec
	// API are the ingress's metrics and the value of their dimension.
	API APIMetrics
	// DependsOn are the resources the alarms watch, so alarms are created
	// after (and removed before) them.
	DependsOn []pulumi.Resource
	Tags      map[string]string
}

func (a *MonitoringArgs) validate() []string {
	s := a.Spec
	p := required("Spec.Region", s.Region, "Spec.TopicName", s.TopicName, "Spec.DashboardName", s.DashboardName, "Spec.APIAlarmName", s.APIAlarmName,
		"API.Metric4xx", a.API.Metric4xx, "API.Metric5xx", a.API.Metric5xx, "API.Dimension", a.API.Dimension)
	if s.OldestMessageAgeSeconds <= 0 {
		p = append(p, fmt.Sprintf("OldestMessageAgeSeconds %d must be positive", s.OldestMessageAgeSeconds))
	}
	for _, w := range s.Sources {
		if w.Name == "" || w.QueueName == "" || w.DLQName == "" || w.FunctionName == "" {
			p = append(p, fmt.Sprintf("watched source %q needs its queue, DLQ and function names", w.Name))
		}
	}
	return p
}

// APIDimensionPlaceholder stands for the value of the API's dimension in
// AlarmSpecs (an HTTP API's id is known only once it exists); NewMonitoring
// puts the ingress's value in its place.
const APIDimensionPlaceholder = "<api>"

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

// AlarmSpecs lists every alarm of a stack whose API publishes api.
func AlarmSpecs(m MonitoringSpec, api APIMetricNames) []AlarmSpec {
	var out []AlarmSpec
	for _, s := range m.Sources {
		out = append(out,
			AlarmSpec{
				Name:        s.Alarms.DLQNotEmpty,
				Description: "Messages of source " + s.Name + " reached the DLQ: inspect them, fix the cause, then redrive.",
				Namespace:   "AWS/SQS", Metric: "ApproximateNumberOfMessagesVisible",
				Dimensions: map[string]string{"QueueName": s.DLQName},
				Statistic:  "Maximum", Threshold: 0, Periods: 1,
			},
			AlarmSpec{
				Name:        s.Alarms.OldestMessage,
				Description: "The oldest message of source " + s.Name + " waits longer than " + strconv.Itoa(m.OldestMessageAgeSeconds) + " s: a group is stuck or the consumer is too slow.",
				Namespace:   "AWS/SQS", Metric: "ApproximateAgeOfOldestMessage",
				Dimensions: map[string]string{"QueueName": s.QueueName},
				Statistic:  "Maximum", Threshold: float64(m.OldestMessageAgeSeconds), Periods: 3,
			},
			AlarmSpec{
				Name:        s.Alarms.FunctionErrors,
				Description: "The consumer of source " + s.Name + " failed invocations.",
				Namespace:   "AWS/Lambda", Metric: "Errors",
				Dimensions: map[string]string{"FunctionName": s.FunctionName},
				Statistic:  "Sum", Threshold: 0, Periods: 1,
			},
			AlarmSpec{
				Name:        s.Alarms.FunctionThrottles,
				Description: "The consumer of source " + s.Name + " is throttled: raise its concurrency or the account limit.",
				Namespace:   "AWS/Lambda", Metric: "Throttles",
				Dimensions: map[string]string{"FunctionName": s.FunctionName},
				Statistic:  "Sum", Threshold: 0, Periods: 1,
			},
		)
	}
	for _, s := range m.Sources {
		if !s.Open {
			continue
		}
		out = append(out, AlarmSpec{
			Name:        s.Alarms.Forgeries,
			Description: "More than " + strconv.Itoa(ForgeryAlarmThreshold) + " records of open source " + s.Name + " failed signature verification in a minute: someone is posting forgeries (they are dropped, not processed), or the signing secret is out of step with the sender's.",
			Namespace:   contract.MetricNamespace, Metric: contract.MetricForged,
			Dimensions: map[string]string{"Source": s.Name},
			Statistic:  "Sum", Threshold: ForgeryAlarmThreshold, Periods: 1,
		})
	}
	out = append(out, AlarmSpec{
		Name:        m.APIAlarmName,
		Description: "The webhook API answered 5XX: senders will retry, but check the integration.",
		Namespace:   "AWS/ApiGateway", Metric: api.Metric5xx,
		Dimensions: map[string]string{api.Dimension: APIDimensionPlaceholder, "Stage": StageName},
		Statistic:  "Sum", Threshold: 0, Periods: 1,
	})
	return out
}

// DashboardBody renders the stack's CloudWatch dashboard; apiValue is the
// value of the API's dimension (a REST API's name, an HTTP API's id).
func DashboardBody(m MonitoringSpec, api APIMetricNames, apiValue string) string {
	type widget struct {
		Type       string         `json:"type"`
		X          int            `json:"x"`
		Y          int            `json:"y"`
		Width      int            `json:"width"`
		Height     int            `json:"height"`
		Properties map[string]any `json:"properties"`
	}
	// The grid is 24 wide: the API's row has two widgets of 8, each
	// source's row four of 6.
	metricWidget := func(x, y, width int, title string, metrics [][]any) widget {
		return widget{Type: "metric", X: x, Y: y, Width: width, Height: 6, Properties: map[string]any{
			"title": title, "region": m.Region, "view": "timeSeries", "stat": "Sum", "period": 60, "metrics": metrics,
		}}
	}
	ws := []widget{
		metricWidget(0, 0, 8, "API requests", [][]any{
			{"AWS/ApiGateway", "Count", api.Dimension, apiValue, "Stage", StageName},
			{".", api.Metric4xx, ".", ".", ".", "."},
			{".", api.Metric5xx, ".", ".", ".", "."},
		}),
		metricWidget(8, 0, 8, "API latency (p99)", [][]any{
			{"AWS/ApiGateway", "Latency", api.Dimension, apiValue, "Stage", StageName, map[string]any{"stat": "p99"}},
			{".", "IntegrationLatency", ".", ".", ".", ".", map[string]any{"stat": "p99"}},
		}),
	}
	for i, s := range m.Sources {
		y := 6 * (i + 1)
		q, dlq, fn := s.QueueName, s.DLQName, s.FunctionName
		ws = append(ws,
			metricWidget(0, y, 6, s.Name+": queue", [][]any{
				{"AWS/SQS", "NumberOfMessagesSent", "QueueName", q},
				{".", "ApproximateNumberOfMessagesVisible", ".", ".", map[string]any{"stat": "Maximum"}},
				{".", "ApproximateNumberOfMessagesVisible", ".", dlq, map[string]any{"stat": "Maximum", "label": "DLQ"}},
			}),
			metricWidget(6, y, 6, s.Name+": oldest message (s)", [][]any{
				{"AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", q, map[string]any{"stat": "Maximum"}},
			}),
			metricWidget(12, y, 6, s.Name+": function", [][]any{
				{"AWS/Lambda", "Invocations", "FunctionName", fn},
				{".", "Errors", ".", "."},
				{".", "Throttles", ".", "."},
				{".", "Duration", ".", ".", map[string]any{"stat": "p99"}},
			}),
			metricWidget(18, y, 6, s.Name+": outcomes", outcomeMetrics(s.Name)),
		)
	}
	b, err := json.Marshal(map[string]any{"widgets": ws})
	if err != nil {
		panic(err) // plain data: cannot happen
	}
	return string(b)
}

// outcomeMetrics are a source's outcome counts, as its consumer writes them
// (contract.MetricCounts, dimension Source).
func outcomeMetrics(source string) [][]any {
	var out [][]any
	for i, name := range contract.MetricCounts {
		if i == 0 {
			out = append(out, []any{contract.MetricNamespace, name, "Source", source})
		} else {
			out = append(out, []any{".", name, ".", "."})
		}
	}
	return out
}

// NewMonitoring creates the topic, subscriptions, alarms and dashboard.
func NewMonitoring(ctx *pulumi.Context, name string, args *MonitoringArgs, opts ...pulumi.ResourceOption) (*Monitoring, error) {
	if args == nil {
		return nil, fmt.Errorf("monitoring %s: args are required", name)
	}
	if err := argsError("monitoring", name, args.validate()); err != nil {
		return nil, err
	}
	spec, tags := args.Spec, pulumi.ToStringMap(args.Tags)
	m := &Monitoring{}
	if err := ctx.RegisterComponentResource(TypeMonitoring, name, m, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(m)

	var err error
	// The topic is not encrypted with the AWS-managed SNS key: CloudWatch
	// alarms cannot publish to a topic under that key.
	m.Topic, err = sns.NewTopic(ctx, name+"-alarms", &sns.TopicArgs{
		Name: pulumi.String(spec.TopicName),
		Tags: tags,
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("create alarm topic: %w", err)
	}
	for i, email := range spec.AlarmEmails {
		if _, err := sns.NewTopicSubscription(ctx, fmt.Sprintf("%s-email-%d", name, i), &sns.TopicSubscriptionArgs{
			Topic:    m.Topic.Arn,
			Protocol: pulumi.String("email"),
			Endpoint: pulumi.String(email),
		}, parent); err != nil {
			return nil, fmt.Errorf("subscribe %s to alarms: %w", email, err)
		}
	}

	actions := pulumi.Array{m.Topic.Arn}
	for _, a := range AlarmSpecs(spec, args.API.APIMetricNames) {
		dims := pulumi.StringMap{}
		for k, v := range a.Dimensions {
			if v == APIDimensionPlaceholder {
				dims[k] = args.API.Value
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
			Tags:               tags,
		}, parent, pulumi.DependsOn(args.DependsOn))
		if err != nil {
			return nil, fmt.Errorf("create alarm %s: %w", a.Name, err)
		}
		m.Alarms = append(m.Alarms, alarm)
	}

	api := args.API.APIMetricNames
	body := args.API.Value.ApplyT(func(v string) string { return DashboardBody(spec, api, v) }).(pulumi.StringOutput)
	dash, err := cloudwatch.NewDashboard(ctx, name+"-dashboard", &cloudwatch.DashboardArgs{
		DashboardName: pulumi.String(spec.DashboardName),
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
