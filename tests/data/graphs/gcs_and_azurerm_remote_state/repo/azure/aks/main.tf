terraform {
  backend "azurerm" {
    resource_group_name  = "tfstate-rg"
    storage_account_name = "acmetfstate"
    container_name       = "tfstate"
    key                  = "azure/aks.tfstate"
  }
}

data "terraform_remote_state" "network" {
  backend = "azurerm"
  config = {
    resource_group_name  = "tfstate-rg"
    storage_account_name = "acmetfstate"
    container_name       = "tfstate"
    key                  = "azure/network.tfstate"
  }
}

# Same key, other container: a state this repository does not write.
data "terraform_remote_state" "legacy_network" {
  backend = "azurerm"
  config = {
    resource_group_name  = "tfstate-rg"
    storage_account_name = "acmetfstate"
    container_name       = "tfstate-archive"
    key                  = "azure/network.tfstate"
  }
}

resource "azurerm_kubernetes_cluster" "prod" {
  name                = "prod-aks"
  location            = "westeurope"
  resource_group_name = "prod-rg"
  dns_prefix          = "prod"

  default_node_pool {
    name           = "system"
    node_count     = 2
    vm_size        = "Standard_D2s_v3"
    vnet_subnet_id = data.terraform_remote_state.network.outputs.vnet_id
  }

  identity {
    type = "SystemAssigned"
  }
}
