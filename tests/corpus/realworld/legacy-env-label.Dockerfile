FROM centos:7
MAINTAINER "Old School" <old@example.com>
LABEL Vendor="CentOS" \
      License=GPLv2 \
      Version=2.4.6-40
ENV container docker
ENV LANG en_US.UTF-8
ENV JAVA_HOME /usr/lib/jvm/java-1.8.0
RUN yum -y --setopt=tsflags=nodocs update && \
    yum -y --setopt=tsflags=nodocs install httpd && \
    yum clean all
EXPOSE 80
VOLUME [ "/sys/fs/cgroup" ]
ADD run-httpd.sh /run-httpd.sh
RUN chmod -v +x /run-httpd.sh
CMD ["/run-httpd.sh"]
