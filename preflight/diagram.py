"""A picture of the recorded stack: the VPC with its AZs and subnets, what sits in them, and how resources relate.

Built in two steps: ``build_graph`` turns a recording into plain data (clusters, nodes, edges), which the tests check;
``render`` draws that data with AWS's service icons through the ``diagrams`` library and Graphviz. Both are generic
over the recording: the types below are AWS's, and relations come from the recording alone (parents, property
dependencies, and IDs and ARNs in the inputs), never from the program's code.
"""

from __future__ import annotations

import base64
import importlib
import re
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from .recorder import RecordedResource, Recording
from .relations import Relations

# type -> (kind, rank, icon as "module.Class" under diagrams.aws). Rank orders edges: traffic enters at rank 0
# (load balancer, API) and flows towards storage and keys; every edge is drawn from the lower rank to the higher.
NODE_TYPES: dict[str, tuple[str, int, str]] = {
    "aws:ec2/internetGateway:InternetGateway": ("internet gateway", 0, "network.InternetGateway"),
    "aws:wafv2/webAcl:WebAcl": ("web ACL", 0, "security.WAF"),
    "aws:lb/loadBalancer:LoadBalancer": ("load balancer", 1, "network.ElbApplicationLoadBalancer"),
    "aws:alb/loadBalancer:LoadBalancer": ("load balancer", 1, "network.ElbApplicationLoadBalancer"),
    "aws:apigatewayv2/api:Api": ("API", 1, "network.APIGateway"),
    "aws:apigateway/restApi:RestApi": ("API", 1, "network.APIGateway"),
    "aws:ec2/natGateway:NatGateway": ("NAT gateway", 1, "network.NATGateway"),
    "aws:autoscaling/group:Group": ("Auto Scaling group", 2, "compute.EC2AutoScaling"),
    "aws:ec2/instance:Instance": ("instance", 2, "compute.EC2"),
    "aws:ecs/service:Service": ("ECS service", 2, "compute.Fargate"),
    "aws:lambda/function:Function": ("function", 2, "compute.Lambda"),
    "aws:ec2/vpcEndpoint:VpcEndpoint": ("VPC endpoint", 3, "network.Endpoint"),
    "aws:ebs/volume:Volume": ("volume", 3, "storage.ElasticBlockStoreEBSVolume"),
    "aws:ebs/snapshot:Snapshot": ("snapshot", 3, "storage.ElasticBlockStoreEBSSnapshot"),
    "aws:ebs/snapshotCopy:SnapshotCopy": ("snapshot copy", 3, "storage.ElasticBlockStoreEBSSnapshot"),
    "aws:ecr/repository:Repository": ("image repository", 3, "compute.ECR"),
    "aws:s3/bucket:Bucket": ("bucket", 3, "storage.S3"),
    "aws:s3/bucketV2:BucketV2": ("bucket", 3, "storage.S3"),
    "aws:kms/key:Key": ("KMS key", 4, "security.KMS"),
}
# Resources that are not drawn but join two that are: a listener joins a load balancer to its target groups, and a
# target group to the fleet or service that registers in it; an integration joins an API to its function.
CONNECTOR_TYPES = {
    "aws:lb/listener:Listener", "aws:lb/listenerRule:ListenerRule", "aws:lb/targetGroup:TargetGroup",
    "aws:lb/targetGroupAttachment:TargetGroupAttachment", "aws:alb/listener:Listener",
    "aws:alb/listenerRule:ListenerRule", "aws:alb/targetGroup:TargetGroup",
    "aws:apigatewayv2/integration:Integration", "aws:apigatewayv2/route:Route",
    "aws:ec2/volumeAttachment:VolumeAttachment", "aws:ec2/launchTemplate:LaunchTemplate",
    "aws:ecs/taskDefinition:TaskDefinition", "aws:wafv2/webAclAssociation:WebAclAssociation",
    "aws:lambda/permission:Permission",
}
VPC_TYPE, SUBNET_TYPE = "aws:ec2/vpc:Vpc", "aws:ec2/subnet:Subnet"


class DiagramError(Exception):
    """The picture cannot be drawn: an unsupported file type, or Graphviz missing."""


@dataclass(frozen=True)
class Cluster:
    id: str
    label: str
    parent: str
    """Enclosing cluster's id, "" at the top."""


@dataclass(frozen=True)
class Node:
    urn: str
    label: str
    kind: str
    icon: str
    cluster: str


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    label: str


@dataclass
class Graph:
    clusters: list[Cluster] = field(default_factory=list)
    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)

    def node(self, name: str) -> Node:
        """The node of the resource named ``name`` (its logical name, the URN's last part)."""
        return next(n for n in self.nodes if n.urn.rsplit("::", 1)[-1] == name)

    def linked(self, first: str, second: str) -> bool:
        a, b = self.node(first).urn, self.node(second).urn
        return any({e.source, e.target} == {a, b} for e in self.edges)


def build_graph(recording: Recording) -> Graph:
    relations = Relations(recording)
    stack_region = next((str(r.inputs.get("region", "")) for r in recording.resources
                         if r.type == "pulumi:providers:aws" and r.name.startswith("default")), "")
    graph = Graph()
    az_of_subnet = _layout_clusters(recording, relations, graph)
    drawn = {r.urn: r for r in recording.resources if r.type in NODE_TYPES}
    for resource in drawn.values():
        kind, _, icon = NODE_TYPES[resource.type]
        cluster = _cluster_of(resource, relations, az_of_subnet, graph, stack_region)
        graph.nodes.append(Node(resource.urn, _label(resource), kind, icon, cluster))
    graph.edges = _edges(recording, relations, drawn)
    return graph


def _layout_clusters(recording: Recording, relations: Relations, graph: Graph) -> dict[str, str]:
    """A cluster per VPC, per AZ inside it and per subnet inside that; returns the subnet URN -> its cluster id."""
    subnet_cluster = {}
    for vpc in recording.of_type(VPC_TYPE):
        graph.clusters.append(Cluster(vpc.urn, f"VPC {vpc.name} {vpc.inputs.get('cidrBlock', '')}".strip(), ""))
    for subnet in sorted(recording.of_type(SUBNET_TYPE), key=lambda s: s.name):
        vpc = relations.find(subnet.inputs.get("vpcId"))
        parent = vpc.urn if vpc is not None else ""
        zone = subnet.inputs.get("availabilityZone") or subnet.inputs.get("availabilityZoneId") or "unknown AZ"
        az_id = f"{parent}#{zone}"
        if not any(c.id == az_id for c in graph.clusters):
            graph.clusters.append(Cluster(az_id, f"AZ {zone}", parent))
        graph.clusters.append(Cluster(subnet.urn, f"subnet {subnet.name} {subnet.inputs.get('cidrBlock', '')}".strip(),
                                      az_id))
        subnet_cluster[subnet.urn] = subnet.urn
    return subnet_cluster


def _cluster_of(resource: RecordedResource, relations: Relations, subnet_cluster: dict[str, str], graph: Graph,
                stack_region: str) -> str:
    region = relations.region_of(resource, stack_region)
    if stack_region and region != stack_region:
        region_id = f"region:{region}"
        if not any(c.id == region_id for c in graph.clusters):
            graph.clusters.append(Cluster(region_id, f"region {region}", ""))
        return region_id
    targets = [target for _, target in relations.referenced(resource)]
    subnets = sorted({t.urn for t in targets if t.type == SUBNET_TYPE})
    if len(subnets) == 1:
        return subnet_cluster[subnets[0]]
    parents = {c.id: c.parent for c in graph.clusters}
    if subnets:
        return parents[parents[subnets[0]]]  # several subnets: the VPC that holds them
    vpcs = [t.urn for t in targets if t.type == VPC_TYPE]
    if vpcs:
        return vpcs[0]
    zone = resource.inputs.get("availabilityZone")
    return next((c.id for c in graph.clusters if zone and c.id.endswith(f"#{zone}")), "")


def _label(resource: RecordedResource) -> str:
    inputs = resource.inputs
    detail = next((str(inputs[k]) for k in ("instanceType", "loadBalancerType", "protocolType", "runtime",
                                              "vpcEndpointType") if isinstance(inputs.get(k), (str, int, float))), "")
    if resource.type == "aws:ebs/volume:Volume":
        detail = f"{inputs.get('type', '')} {int(inputs['size'])} GB" if inputs.get("size") else \
            f"{inputs.get('type', '')} from snapshot"
    if resource.type == "aws:ec2/vpcEndpoint:VpcEndpoint":
        detail = str(inputs.get("serviceName", "")).rsplit(".", 1)[-1] + f" ({detail})"
    return f"{resource.name}\n{detail}".strip()


def _edges(recording: Recording, relations: Relations, drawn: dict[str, RecordedResource]) -> list[Edge]:
    """One edge per pair of drawn resources joined by a reference, directly or through connectors, following
    references both ways but through each connector type at most once (load balancer <- listener -> target group
    <- fleet joins the two; fleet -> target group <- rule -> listener <- rule -> target group <- service does not)."""
    neighbours: dict[str, list[tuple[str, RecordedResource]]] = {r.urn: [] for r in recording.resources}
    for resource in recording.resources:
        for key, target in relations.referenced(resource):
            neighbours[resource.urn].append((key, target))
            neighbours[target.urn].append((key, resource))
    found: dict[frozenset[str], str] = {}
    for start in sorted(drawn):
        queue = deque([(start, frozenset(), "")])
        seen = {(start, frozenset())}
        while queue:
            urn, used, label = queue.popleft()
            for key, target in neighbours[urn]:
                step_label = label or (key if target.urn in drawn else target.type.split(":")[-1])
                if target.urn in drawn:
                    if target.urn != start:
                        found.setdefault(frozenset((start, target.urn)), step_label)
                elif target.type in CONNECTOR_TYPES and target.type not in used:
                    state = (target.urn, used | {target.type})
                    if state not in seen:
                        seen.add(state)
                        queue.append((*state, step_label))
    edges = []
    for pair, label in sorted(found.items(), key=lambda item: sorted(item[0])):
        first, second = sorted(pair, key=lambda urn: (NODE_TYPES[drawn[urn].type][1], urn))
        edges.append(Edge(first, second, label))
    return edges


def render(graph: Graph, path: Path, title: str = "") -> Path:
    """Draw ``graph`` to ``path`` (.svg or .png) with AWS icons; an SVG carries its icons inline."""
    outformat = path.suffix.lower().lstrip(".")
    if outformat not in ("svg", "png"):
        raise DiagramError(f"--diagram {path}: unsupported file type '{path.suffix}'; allowed: .svg, .png")
    try:
        from diagrams import Cluster as DiagramCluster
        from diagrams import Diagram
        from diagrams import Edge as DiagramEdge
        from diagrams.generic.blank import Blank
    except ImportError as error:
        raise DiagramError(f"the diagrams package is not installed ({error}); run `make` set-up") from None
    path = path.resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    children: dict[str, list[Cluster]] = {}
    for cluster in graph.clusters:
        children.setdefault(cluster.parent, []).append(cluster)
    members: dict[str, list[Node]] = {}
    for node in graph.nodes:
        members.setdefault(node.cluster, []).append(node)
    drawn = {}

    def fill(cluster_id: str) -> None:
        for node in sorted(members.get(cluster_id, []), key=lambda n: n.urn):
            module, name = node.icon.rsplit(".", 1)
            icon = getattr(importlib.import_module(f"diagrams.aws.{module}"), name)
            drawn[node.urn] = icon(node.label)
        for child in sorted(children.get(cluster_id, []), key=lambda c: c.label):
            with DiagramCluster(child.label):
                if not members.get(child.id) and not children.get(child.id):
                    Blank("")  # Graphviz drops an empty cluster; a subnet with nothing in it is still drawn
                fill(child.id)

    graph_attr = {"fontsize": "20", "labelloc": "t", "pad": "0.3", "compound": "true"}
    try:
        with Diagram(title, filename=str(path.with_suffix("")), outformat=outformat, show=False, direction="LR",
                     graph_attr=graph_attr):
            fill("")
            for edge in graph.edges:
                drawn[edge.source] >> DiagramEdge(label=edge.label) >> drawn[edge.target]
    except Exception as error:  # graphviz.ExecutableNotFound and friends, named for the user
        raise DiagramError(f"could not draw {path}: {type(error).__name__}: {error}; Graphviz's `dot` must be on "
                           "PATH (apt-get install graphviz)") from None
    if outformat == "svg":
        path.write_text(_inline_images(path.read_text()))
    return path


def _inline_images(svg: str) -> str:
    """Graphviz links each icon by its absolute path inside the diagrams package; embed them instead, so that the
    SVG shows its icons on any machine (a README, a CI artifact)."""
    def embed(match: re.Match) -> str:
        data = base64.b64encode(Path(match.group(2)).read_bytes()).decode()
        return f'{match.group(1)}="data:image/png;base64,{data}"'
    return re.sub(r'(xlink:href|href)="(/[^"]+\.png)"', embed, svg)


def draw(recording: Recording, path: Path) -> Graph:
    graph = build_graph(recording)
    render(graph, path, f"{recording.project} ({recording.stack})")
    return graph
