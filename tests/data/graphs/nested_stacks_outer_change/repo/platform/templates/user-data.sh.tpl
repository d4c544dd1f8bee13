#!/bin/sh
echo "bastion for ${env}" > /etc/motd
